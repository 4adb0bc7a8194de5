"""The dashboards staff steer by: tiers, the referral funnel against its 30% target, event
attendance, merchant sales, the points liability and the care KPIs, all computed from records."""
