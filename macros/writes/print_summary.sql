{% macro print_banner(headline) %}
    {#- Prints the headline of a run's or an operation's summary between two rules. -#}
    {% do print('') %}
    {% do print('═' * 63) %}
    {% do print(headline) %}
    {% do print('═' * 63) %}
{% endmacro %}


{% macro print_counts(lines) %}
    {#- Prints `Label:   value` lines, aligned (the statistics block's layout). -#}
    {% for label, value in lines %}
        {% do print('   ' ~ '%-24s' | format(label) ~ value) %}
    {% endfor %}
{% endmacro %}
