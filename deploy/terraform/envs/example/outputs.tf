output "tenants" {
  description = "Per tenant: dataset, topic, subscription, API URL, nightly job, runtime service account and secrets."
  value = {
    for id, t in module.tenant : id => {
      dataset_id            = t.dataset_id
      topic                 = t.topic
      subscription          = t.subscription
      service_url           = t.service_url
      job_name              = t.job_name
      service_account_email = t.service_account_email
      secret_ids            = t.secret_ids
    }
  }
}
