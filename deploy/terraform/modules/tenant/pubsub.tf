# The tenant's SSO events arrive on a topic of their own; workcat's consumer pulls the intake
# subscription; messages delivered max_delivery_attempts times without an ack go to the
# dead-letter topic, kept on its subscription for inspection.

resource "google_pubsub_topic" "sso_events" {
  project = var.project_id
  name    = "workcat-${var.tenant}-sso-events"
  labels  = local.labels
}

resource "google_pubsub_topic" "dead_letter" {
  project = var.project_id
  name    = "workcat-${var.tenant}-sso-events-dead-letter"
  labels  = local.labels
}

resource "google_pubsub_subscription" "intake" {
  project = var.project_id
  name    = "workcat-${var.tenant}-intake"
  topic   = google_pubsub_topic.sso_events.id
  labels  = local.labels

  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = var.message_retention_duration
  retain_acked_messages      = false

  # Never expires, however long the consumer is stopped.
  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = "workcat-${var.tenant}-dead-letter"
  topic   = google_pubsub_topic.dead_letter.id
  labels  = local.labels

  message_retention_duration = var.message_retention_duration

  expiration_policy {
    ttl = ""
  }
}
