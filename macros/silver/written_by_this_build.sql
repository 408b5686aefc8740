{#- A condition on `column` that keeps the rows an incremental build wrote (its value
    at or after the watermark, `changed_since()`), and every row in a whole build: for
    the singular tests of the incremental models, which then check what changed. -#}
{% macro written_by_this_build(column) -%}
    {%- set since = medallion.changed_since() -%}
    {%- if since -%}
        {{ column }} >= '{{ since }}'
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
