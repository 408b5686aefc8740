{#- The surrogate key of every product version of `snap_products`: numbered once,
    when the table is first built, and kept by every build after it, whole or
    incremental (`full_refresh=false`, `version_keys`): the fact's rows keep pointing at
    the right versions whatever part of a build ran. -#}
{{ config(
    materialized="incremental",
    incremental_strategy="append",
    full_refresh=false,
    post_hook=['{{ medallion.table_index(["product_code", "dbt_valid_from"]) }}'],
) }}
{{ version_keys(ref("snap_products"), "product_code", "product_key") }}
