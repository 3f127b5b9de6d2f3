terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
  }

  # Keep the state in a bucket of its own (versioned, not readable by the tenants' accounts):
  # backend "gcs" {
  #   bucket = "PROJECT-workcat-tfstate"
  #   prefix = "workcat/example"
  # }
}
