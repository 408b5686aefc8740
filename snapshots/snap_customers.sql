{% snapshot snap_customers %}
{#- SCD type 2 history of customers (after merging ids). A new `updated_at` opens a
    version; a customer gone from the source (hard-deleted in live, or merged into
    another id) has its version closed. -#}
{{ config(
    unique_key="customer_id",
    strategy="timestamp",
    updated_at="version_updated_at",
    invalidate_hard_deletes=True,
) }}

    select * from {{ ref("int_customers_merged") }}

{% endsnapshot %}
