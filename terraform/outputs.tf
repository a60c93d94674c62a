# Where to look once the VM has booted (the startup script needs a few minutes to build).

output "external_ip" {
  description = "The VM's static external address."
  value       = google_compute_address.lab.address
}

output "grafana_url" {
  description = "Grafana with the provisioned streamlab dashboard (anonymous users view; admin password: sudo cat /etc/streamlab/grafana-admin-password on the VM)."
  value       = "http://${google_compute_address.lab.address}:${local.ui_ports.grafana}/"
}

output "prometheus_url" {
  description = "Prometheus's own UI: targets, graphs, the HTTP API."
  value       = "http://${google_compute_address.lab.address}:${local.ui_ports.prometheus}/"
}

output "haproxy_stats_url" {
  description = "HAProxy's stats page: which brokers the bootstrap backend sees up."
  value       = "http://${google_compute_address.lab.address}:${local.ui_ports.haproxy}/stats"
}

output "ssh_command" {
  description = "SSH into the VM through IAP (startup log: sudo journalctl -u google-startup-scripts)."
  value       = "gcloud compute ssh ${google_compute_instance.lab.name} --zone ${var.zone} --project ${var.project} --tunnel-through-iap"
}
