"""The party proxy: the one port another party reaches; routes calls and objects by party id."""
