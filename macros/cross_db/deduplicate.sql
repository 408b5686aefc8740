{#- The row number that keeps one row per key: rows where it is 1 survive.
    `row_number()` over an explicit key and order, so rows holding NULLs are never
    dropped by accident the way a `natural join` or `distinct` dedup would drop them. -#}
{% macro dedup_row_number(partition_by, order_by) -%}
    row_number() over (
        partition by {{ partition_by | join(", ") }}
        order by {{ order_by | join(", ") }}
    )
{%- endmacro %}
