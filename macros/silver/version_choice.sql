{#- Rank the SCD2 versions one event could point at, best first: the version valid at
    `at` ([valid_from, valid_to)); else, for an event before every version, the
    earliest; else (after a closed last version) the latest. Use as the `order by` of
    a `row_number()` partitioned by the event and keep rank 1. -#}
{% macro version_choice(at, valid_from, valid_to) -%}
    case
        when {{ at }} >= {{ valid_from }} and {{ at }} < {{ valid_to }} then 0
        when {{ at }} < {{ valid_from }} then 1
        else 2
    end,
    case when {{ at }} < {{ valid_from }} then {{ valid_from }} end,
    {{ valid_from }} desc
{%- endmacro %}
