"""The NPZ codec: numpy `.npz` archives of one array each, read without unpickling."""
