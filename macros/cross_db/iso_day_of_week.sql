{#- ISO day of the week: Monday 1 .. Sunday 7. -#}
{% macro iso_day_of_week(expression) -%}
    {{ return(adapter.dispatch("iso_day_of_week", "medallion")(expression)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(expression) -%}
    isodow({{ expression }})
{%- endmacro %}

{% macro mysql__iso_day_of_week(expression) -%}
    (weekday({{ expression }}) + 1)
{%- endmacro %}

{% macro spark__iso_day_of_week(expression) -%}
    {#- Spark's `weekday` is 0 for Monday, as MySQL's. -#}
    (weekday({{ expression }}) + 1)
{%- endmacro %}
