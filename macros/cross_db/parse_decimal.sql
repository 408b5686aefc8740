{#- Text to decimal(18, 2), reading both `1234.50`/`1,234.50` and the European
    `1.234,50`/`1234,50`. A comma followed by one or two final digits is a decimal
    comma; otherwise commas group thousands. Unparseable text is null. -#}
{% macro parse_decimal(expression) -%}
    {%- set value = "replace(trim(" ~ expression ~ "), ' ', '')" -%}
    {{ medallion.try_cast(
        "case
            when " ~ medallion.regexp_matches(value, "^[+-]?[0-9.]*,[0-9]{1,2}$") ~ "
                then replace(replace(" ~ value ~ ", '.', ''), ',', '.')
            else replace(" ~ value ~ ", ',', '')
        end",
        "decimal(18, 2)"
    ) }}
{%- endmacro %}
