"""The TF.js layers format: reading and writing model.json and its weight shards."""
