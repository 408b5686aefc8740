{% snapshot snap_products %}
    {#- SCD type 2 history of products; a product hard-deleted in live is closed. -#}
{{ config(
    unique_key="product_code",
    strategy="timestamp",
    updated_at="version_updated_at",
    invalidate_hard_deletes=True,
) }}

    select * from {{ ref("int_products_deduplicated") }}
    where not is_deleted

{% endsnapshot %}
