"""Live data: source systems that push (HTTP JSON lines, MQTT) or are pulled on a schedule."""
