"""The definition language: text -> specs (:mod:`.parser`) -> table info (:mod:`.resolve`) -> DDL
(:mod:`.ddl`), with the portable types in :mod:`.types`."""
