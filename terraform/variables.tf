# Inputs.  project, allowed_cidr and repository_url have no default: the UIs are opened
# to nobody until you say who may see them.

variable "project" {
  description = "GCP project id that will hold the VM, its network and firewall rules."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a GCP project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "GCP region of the subnetwork, e.g. europe-west1."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like europe-west1 or us-central1."
  }
}

variable "zone" {
  description = "GCP zone of the VM; must lie in var.region, e.g. europe-west1-b."
  type        = string
  default     = "europe-west1-b"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", var.zone))
    error_message = "zone must look like europe-west1-b."
  }
}

variable "machine_type" {
  description = "VM machine type: three brokers, Prometheus and Grafana fit in e2-standard-2 (2 vCPU, 8 GB)."
  type        = string
  default     = "e2-standard-2"

  validation {
    condition     = can(regex("^[a-z0-9]+-[a-z0-9-]+$", var.machine_type))
    error_message = "machine_type must be a GCE machine type such as e2-standard-2."
  }
}

variable "allowed_cidr" {
  description = "The only source range (IPv4 CIDR) allowed to reach Grafana, Prometheus and the HAProxy stats page, e.g. your address as 203.0.113.7/32."
  type        = string

  validation {
    condition     = can(cidrhost(var.allowed_cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", var.allowed_cidr))
    error_message = "allowed_cidr must be an IPv4 CIDR such as 203.0.113.7/32."
  }

  validation {
    condition     = !endswith(var.allowed_cidr, "/0")
    error_message = "allowed_cidr must not open the lab to the whole internet (/0): give your own address range."
  }
}

variable "repository_url" {
  description = "Git URL the VM clones the lab from (https; public, or reachable without credentials), e.g. https://github.com/YOU/streamlab.git."
  type        = string

  validation {
    condition     = can(regex("^https://", var.repository_url))
    error_message = "repository_url must be an https:// git URL."
  }
}

variable "repository_ref" {
  description = "Branch, tag or commit of repository_url the VM checks out."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.repository_ref))
    error_message = "repository_ref must be a branch, tag or commit (letters, digits, . _ / -)."
  }
}

variable "name" {
  description = "Prefix of every resource's name (VM, network, firewall rules)."
  type        = string
  default     = "streamlab"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens, at most 21 characters, starting with a letter."
  }
}

variable "disk_size_gb" {
  description = "Boot disk size in GB (images, broker logs, Prometheus data)."
  type        = number
  default     = 30

  validation {
    condition     = var.disk_size_gb >= 20 && var.disk_size_gb <= 500
    error_message = "disk_size_gb must be between 20 and 500."
  }
}

variable "compose_profile" {
  description = "Brokers the VM runs: streamlab (this project's broker) or kafka (Apache Kafka images, same clients)."
  type        = string
  default     = "streamlab"

  validation {
    condition     = contains(["streamlab", "kafka"], var.compose_profile)
    error_message = "compose_profile must be streamlab or kafka."
  }
}
