{#- `numerator / denominator` as money, exact to the cent and rounded half away from
    zero, on every warehouse. DuckDB divides decimals in floating point, where
    4480.99 / 2 = 2240.495 may land on either side of the half cent; this divides
    integer cents instead. Null when the denominator is 0 or null. -#}
{% macro money_divide(numerator, denominator) -%}
    {%- set cents = (
        "cast(abs(" ~ numerator ~ ") * 100 as " ~ medallion.bigint_type() ~ ")"
    ) -%}
    {%- set divisor = "(" ~ denominator ~ ")" -%}
    case
        when {{ divisor }} <> 0 then
            sign({{ numerator }}) * sign({{ divisor }})
            * cast(
                {{ medallion.integer_divide(
                    "2 * " ~ cents ~ " + abs" ~ divisor, "2 * abs" ~ divisor
                ) }} as decimal(18, 0)
            )
            * cast(0.01 as decimal(3, 2))
    end
{%- endmacro %}

{#- Integer division, truncating. -#}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch("integer_divide", "medallion")(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{% macro mysql__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) div ({{ denominator }}))
{%- endmacro %}

{% macro spark__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) div ({{ denominator }}))
{%- endmacro %}
