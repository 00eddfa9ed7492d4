"""Who answers a bridged call: agents, departments and voice menus."""
