"""The WhatsApp Business Platform (Cloud API) channel."""
