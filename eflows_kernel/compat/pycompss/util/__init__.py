"""pycompss.util: the helpers applications call (context, exceptions, serialisation, typing)."""
