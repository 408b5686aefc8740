{{ stage_customers("live") }}
