"""The relay format provider: any PBX whose script posts create_call / update_call."""
