app-title = Hangar
