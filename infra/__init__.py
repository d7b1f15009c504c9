"""What every service shares: event-store adapters, the projection runner, Nameko glue, config."""
