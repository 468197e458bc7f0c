"""Pure territorial logic: codes, perimeters expanded to communes, coverage, the diagnosis, markets and places.

The lowest floor: imports nothing of the project but ``geo`` itself, no Streamlit, no file format. Areas are
computed in Lambert-93 (EPSG:2154); ``geo.display`` prepares WGS84 layers for the maps.
"""
