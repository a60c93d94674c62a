# One Debian 12 VM running the Docker Compose lab (docker/docker-compose.yml), in its own
# network.  Grafana (3000), Prometheus (9090) and the HAProxy stats page (8404) are open to
# var.allowed_cidr only; SSH goes through Identity-Aware Proxy's range.

locals {
  ui_ports = {
    grafana    = 3000
    prometheus = 9090
    haproxy    = 8404
  }
  # Google's IAP TCP forwarding range: `gcloud compute ssh --tunnel-through-iap`.
  iap_range = "35.235.240.0/20"
}

resource "google_project_service" "compute" {
  service            = "compute.googleapis.com"
  disable_on_destroy = false
}

resource "google_compute_network" "lab" {
  name                    = "${var.name}-net"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.compute]
}

resource "google_compute_subnetwork" "lab" {
  name          = "${var.name}-subnet"
  region        = var.region
  network       = google_compute_network.lab.id
  ip_cidr_range = "10.42.0.0/24"
}

resource "google_compute_firewall" "ui" {
  name          = "${var.name}-ui"
  network       = google_compute_network.lab.name
  description   = "Grafana, Prometheus and the HAProxy stats page, from allowed_cidr only."
  direction     = "INGRESS"
  source_ranges = [var.allowed_cidr]
  target_tags   = ["${var.name}-lab"]

  allow {
    protocol = "tcp"
    ports    = ["3000", "9090", "8404"] # local.ui_ports: grafana, prometheus, haproxy stats
  }
}

resource "google_compute_firewall" "ssh_iap" {
  name          = "${var.name}-ssh-iap"
  network       = google_compute_network.lab.name
  description   = "SSH through Identity-Aware Proxy only."
  direction     = "INGRESS"
  source_ranges = [local.iap_range]
  target_tags   = ["${var.name}-lab"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_address" "lab" {
  name   = "${var.name}-ip"
  region = var.region
}

resource "google_compute_instance" "lab" {
  name         = "${var.name}-lab"
  machine_type = var.machine_type
  zone         = var.zone
  tags         = ["${var.name}-lab"]

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      size  = var.disk_size_gb
      type  = "pd-balanced"
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.lab.id
    access_config {
      nat_ip = google_compute_address.lab.address
    }
  }

  metadata = {
    enable-oslogin = "TRUE"
  }

  # Runs as root at every boot: installs git and Docker, clones the lab at the ref,
  # builds the images and starts the compose stack (idempotent; see the script).  A new
  # URL, ref or profile changes the script, which replaces the VM (the provider forces it).
  metadata_startup_script = templatefile("${path.module}/startup.sh.tftpl", {
    repository_url  = var.repository_url
    repository_ref  = var.repository_ref
    compose_profile = var.compose_profile
  })

  shielded_instance_config {
    enable_secure_boot = true
  }
}
