terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 7.x is the current major. google_cloud_run_v2_worker_pool (the Pub/Sub consumer) exists
      # since 6.37; the module uses nothing removed in 7.0.
      version = "~> 7.0"
    }
  }
}
