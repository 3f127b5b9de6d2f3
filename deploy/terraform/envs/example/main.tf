provider "google" {
  project = var.project_id
  region  = var.region

  # Labels on every resource of this configuration that takes labels (besides the module's own
  # app and tenant labels).
  default_labels = {
    managed_by = "terraform"
  }
}

locals {
  # The tenants of this deployment, by workcat tenant id, with their own settings (any variable of
  # modules/tenant). Adding a tenant is adding an entry; each gets a stack of its own.
  tenants = {
    acme = {
      retention_days = 730
      categorizer    = "offline"
    }
    globex = {
      retention_days = 365
      categorizer    = "offline"
    }
  }
}

module "tenant" {
  source   = "../../modules/tenant"
  for_each = local.tenants

  project_id = var.project_id
  region     = var.region
  tenant     = each.key
  image      = var.image

  retention_days      = each.value.retention_days
  categorizer         = each.value.categorizer
  vpc_network         = var.vpc_network
  vpc_subnetwork      = var.vpc_subnetwork
  deletion_protection = var.deletion_protection
}
