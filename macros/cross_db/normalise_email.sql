{#- lower(trim(email)) when it is a plausible address, else null. -#}
{% macro normalise_email(expression) -%}
    case
        when {{ medallion.regexp_matches(
            "lower(trim(" ~ expression ~ "))", "^[a-z0-9._%+-]+@[a-z0-9.-]+[.][a-z]{2,}$"
        ) }}
            then lower(trim({{ expression }}))
    end
{%- endmacro %}
