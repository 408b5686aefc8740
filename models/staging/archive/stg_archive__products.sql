{{ stage_products("archive") }}
