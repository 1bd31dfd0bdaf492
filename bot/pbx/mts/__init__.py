"""MTS VPBX ("API CRM" on BroadWorks): client, webhooks, provider and subscriptions."""
