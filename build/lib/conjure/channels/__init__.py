"""Messaging channels (SMS via RingCentral, WhatsApp Cloud API, Google Business Profile) for apps.

The platform receives each provider's webhook, verifies it, stores each message once and hands
it to the ``channels.process`` job, which normalises it to :class:`~conjure.channels.types.InboundMessage`
and calls every installed app's ``on_inbound_message``. Apps answer through
:mod:`conjure.channels.outbound`. docs/channels.md tells the whole story.
"""
