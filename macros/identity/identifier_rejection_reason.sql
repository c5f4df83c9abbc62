{% macro identifier_rejection_reason(identifier_type, identifier_value) -%}
    {#- The built-in junk patterns, all in one place. SQL expression: why a normalized
        identifier must not be used to link leads, or null when it may be. Values
        listed in the `identifier_blocklist` seed are rejected as well (see
        int_identifier_values_screened); a suspected placeholder is also caught by
        the per-value cap. `email_role_address` is the one reason that keeps the
        value as an attribute (a customer's e-mail may be info@...), it only never
        links two leads. -#}
    case
        when {{ identifier_type }} = 'phone' and {{ identifier_value }} like '+%' then
            case
                when {{ identifier_value }} ~ '^\+0' then 'phone_invalid_country_code'
                when {{ is_one_character_repeated('substr(' ~ identifier_value ~ ', 2)', 2, digits_only=true) }}
                    then 'phone_repeated_digits'
                when {{ is_sequential_digits('substr(' ~ identifier_value ~ ', 2)') }}
                    then 'phone_sequential_digits'
            end
        when {{ identifier_type }} = 'phone' then
            case
                -- a 10-digit North American number: NPA-NXX-XXXX
                when length({{ identifier_value }}) = 10
                    and {{ is_one_character_repeated(identifier_value, 10, digits_only=true) }}
                    then 'phone_repeated_digits'
                when {{ is_sequential_digits(identifier_value) }} then 'phone_sequential_digits'
                when {{ identifier_value }} ~ '^[01]' then 'phone_area_code_starts_with_0_or_1'
                when {{ identifier_value }} ~ '^[2-9]11' then 'phone_area_code_is_a_service_code'
                when {{ identifier_value }} ~ '^[0-9]{3}[01]' then 'phone_exchange_starts_with_0_or_1'
                when {{ identifier_value }} ~ '^[0-9]{3}[2-9]11' then 'phone_exchange_is_a_service_code'
                when {{ identifier_value }} ~ '^[0-9]{3}55501[0-9]{2}$' then 'phone_fictional_555_01xx'
            end
        when {{ identifier_type }} = 'email' then
            case
                when split_part({{ identifier_value }}, '@', 1) in (
                    'test', 'testing', 'tester', 'test123', 'noemail', 'no-email', 'no_email',
                    'nomail', 'no-mail', 'none', 'no', 'na', 'n.a', 'null', 'nil', 'unknown',
                    'fake', 'dummy', 'sample', 'example', 'asdf', 'qwerty', 'abc', 'abc123',
                    'nobody', 'noone', 'no-one', 'donotemail', 'email', 'youremail', 'your.email',
                    'someone', 'anonymous', 'void', 'invalid', 'xx', 'xxx', 'xxxx'
                ) then 'email_placeholder_local_part'
                when {{ is_one_character_repeated('split_part(' ~ identifier_value ~ ", '@', 1)", 3) }}
                    then 'email_placeholder_local_part'
                when split_part({{ identifier_value }}, '@', 2) in (
                    'example.com', 'example.org', 'example.net', 'test.com', 'domain.com',
                    'email.invalid', 'noemail.com', 'none.com', 'nomail.com', 'fake.com'
                ) or split_part({{ identifier_value }}, '@', 2) ~ '\.(test|example|invalid|localhost)$'
                    then 'email_placeholder_domain'
                when split_part({{ identifier_value }}, '@', 1) in (
                    'info', 'office', 'contact', 'admin', 'administrator', 'sales', 'support',
                    'hello', 'team', 'billing', 'accounts', 'accounting', 'service', 'help',
                    'enquiries', 'inquiries', 'mail', 'frontdesk', 'reception', 'marketing',
                    'jobs', 'careers', 'hr', 'webmaster', 'postmaster', 'hostmaster', 'abuse',
                    'noreply', 'no-reply', 'no_reply', 'donotreply', 'do-not-reply', 'orders',
                    'booking', 'bookings', 'reservations', 'office.manager', 'staff', 'management'
                ) then 'email_role_address'
            end
        when {{ identifier_type }} = 'psid' then
            case
                when lower({{ identifier_value }}) in (
                    'null', 'none', 'undefined', 'nan', 'n/a', 'na', 'unknown', 'test', '-1'
                ) then 'psid_placeholder'
                when {{ is_one_character_repeated(identifier_value, 1, digits_only=true) }}
                    then 'psid_repeated_digits'
            end
    end
{%- endmacro %}


{% macro is_sequential_digits(digits) -%}
    {#- Runs of consecutive digits (1234567890, 9876543210, 0123456789, ...). -#}
    (
        length({{ digits }}) >= 7
        and (
            strpos('01234567890123456789', {{ digits }}) > 0
            or strpos('98765432109876543210', {{ digits }}) > 0
        )
    )
{%- endmacro %}


{% macro is_one_character_repeated(value, min_length, digits_only=false) -%}
    {#- One character at least min_length (1 or more) times (7777777777, aaa), a
        digit when digits_only. A regular expression with a back reference that says
        the same (^([0-9])\1*$ for min_length 1 and digits_only) costs PostgreSQL
        about 20 times more per value. -#}
    (
        length({{ value }}) >= {{ min_length }}
        {%- if digits_only %}
        and strpos('0123456789', left({{ value }}, 1)) > 0
        {%- endif %}
        and {{ value }} = repeat(left({{ value }}, 1), length({{ value }}))
    )
{%- endmacro %}
