{#- The surrogate key of every customer version of `snap_customers`: numbered once,
    when the table is first built, and kept by every build after it, whole or
    incremental (`full_refresh=false`, `version_keys`): the fact's rows keep pointing at
    the right versions whatever part of a build ran. -#}
{{ config(
    materialized="incremental",
    incremental_strategy="append",
    full_refresh=false,
    post_hook=['{{ medallion.table_index(["customer_id", "dbt_valid_from"]) }}'],
) }}
{{ version_keys(ref("snap_customers"), "customer_id", "customer_key") }}
