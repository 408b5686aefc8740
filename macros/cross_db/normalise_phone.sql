{#- Phone numbers reduced to digits, keeping a leading `+`; null when no digit is left. -#}
{% macro normalise_phone(expression) -%}
    nullif(
        {{ medallion.string_concat([
            "case when trim(" ~ expression ~ ") like '+%' then '+' else '' end",
            medallion.regexp_remove(expression, "[^0-9]")
        ]) }},
        ''
    )
{%- endmacro %}
