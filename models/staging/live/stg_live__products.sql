{{ stage_products("live") }}
