"""Files as people bring them and as the product writes them back: tables, geometries, DECP."""
