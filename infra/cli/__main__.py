"""`python -m infra.cli`: the same as the `telegent-sms` console script."""

from infra.cli.main import main

main()
