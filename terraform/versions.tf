# Terraform and provider versions, and the remote state.
#
# State lives in a GCS bucket you create once (see README, "Deploy to GCP"); its name is
# given at init time, so the same code serves every student's project:
#   terraform init -backend-config="bucket=MY-STATE-BUCKET"
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 5.40"
    }
  }

  backend "gcs" {
    prefix = "streamlab/lab"
  }
}

provider "google" {
  project = var.project
  region  = var.region
  zone    = var.zone
}
