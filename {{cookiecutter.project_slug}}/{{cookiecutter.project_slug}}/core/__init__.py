"""The service's plumbing: settings, logs, request IDs, proxies, probes and
draining, JSON errors, the API contract's machinery
{%- if cookiecutter.database != 'none' %} and the database session{% endif %}.

Your code lives beside this package: views/ and schemas/
{%- if cookiecutter.database != 'none' %}, models/ and migrations/{% endif %}.
Nothing here needs changing to add endpoints.
"""
