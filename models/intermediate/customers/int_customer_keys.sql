{#- The surrogate key of every customer version of `snap_customers`: numbered once,
    kept by every incremental build (`version_keys`). -#}
{{ config(
    materialized="incremental",
    incremental_strategy="append",
    full_refresh=env_var("MEDALLION_CHANGED_SINCE", "") == "",
    post_hook=['{{ medallion.table_index(["customer_id", "dbt_valid_from"]) }}'],
) }}
{{ version_keys(ref("snap_customers"), "customer_id", "customer_key") }}
