{{ stage_transactions("live") }}
