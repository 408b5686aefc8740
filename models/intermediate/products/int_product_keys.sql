{#- The surrogate key of every product version of `snap_products`: numbered once,
    kept by every incremental build (`version_keys`). -#}
{{ config(
    materialized="incremental",
    incremental_strategy="append",
    full_refresh=env_var("MEDALLION_CHANGED_SINCE", "") == "",
    post_hook=['{{ medallion.table_index(["product_code", "dbt_valid_from"]) }}'],
) }}
{{ version_keys(ref("snap_products"), "product_code", "product_key") }}
