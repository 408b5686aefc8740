{#- A text value matched to its list of accepted values whatever its case and stray
    spaces (`' emea '` -> `EMEA`, `'shipped'` -> `Shipped`); a value matching none is
    kept as written, trimmed, and an empty one becomes null, so a later rule can
    quarantine or flag it with the value the source sent. -#}
{% macro canonical_value(column, values) -%}
    case lower(trim({{ column }}))
        {%- for value in values %}
        when '{{ value | lower }}' then '{{ value }}'
        {%- endfor %}
        else nullif(trim({{ column }}), '')
    end
{%- endmacro %}
