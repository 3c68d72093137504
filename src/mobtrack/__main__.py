"""`python -m mobtrack` is `mobtrack`."""

from mobtrack.cli import main

main()
