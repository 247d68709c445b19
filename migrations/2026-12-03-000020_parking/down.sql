DROP INDEX parking_areas_site;
DROP TABLE parking_areas;
