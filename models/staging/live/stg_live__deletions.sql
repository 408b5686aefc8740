{#- Rows hard-deleted in the live database, as detected by the ingestion (it compares
    the live keys with the raw ones). The raw rows stay; this marks them deleted. A
    key that comes back is marked not deleted again. -#}
{%- set relation = source("live", "_medallion_deletions") -%}
{%- set existing = relation_columns(relation) -%}
with

{% if existing is none -%}
    source as (
        select
            cast(null as {{ medallion.string_type() }}) as table_name,
            cast(null as {{ medallion.string_type() }}) as primary_key,
            cast(null as {{ medallion.boolean_type() }}) as is_deleted,
            cast(null as {{ medallion.timestamp_type() }}) as detected_at,
            cast(null as {{ medallion.string_type() }}) as _dlt_load_id
        where 1 = 0
    ),
{%- else -%}
source as (
    select * from {{ relation }}
),
{%- endif %}

renamed as (
    select
        table_name,
        primary_key,
        _dlt_load_id as load_id,
        is_deleted,
        detected_at
    from source
)

select * from renamed
