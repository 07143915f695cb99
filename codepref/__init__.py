"""codepref: sandboxed code alignment (generate -> execute -> rank -> pair -> train -> evaluate)."""

__version__ = "0.1.0"
