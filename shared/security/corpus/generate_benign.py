#!/usr/bin/env python3
"""Generates benign.txt: values people type innocently into the free-text fields of an account profile.

Deterministic (fixed seed, lists only, no set iteration), so `python3 generate_benign.py` always writes the same
file. The first block is hand-written: lines that look most like an attack to a naive pattern matcher but are
plainly a human's text (apostrophes and quotes next to `or`/`and`/`--`/`;`/`#`, SQL words in prose, `<3` and
arrows, percentages, Windows paths, ellipses). The rest is generated from hand-written lists: names from many
cultures and scripts, display names and handles, job titles, company names, street addresses, e-mail addresses
(reserved example domains only), short titles and phrases, bios and support notes.

Rules every line obeys (checked before writing): one value per line, no duplicates, no leading or trailing
whitespace, no tab or other control character (nor U+2028/U+2029 or other format characters), at most 200
characters, and no `<` directly followed by a letter, `/` and a letter, `!` or `?` (the project treats any HTML tag as XSS by
policy, so such a value would not be benign there).
"""

import random
import re
import sys
import unicodedata
from pathlib import Path

SEED = 20240611
OUT = Path(__file__).with_name("benign.txt")

# --- Hand-written tricky-but-benign lines (kept first, in this order) ---------------------------------------------

HANDWRITTEN = r"""
O'Brien
D'Angelo
N'Diaye
Siobhán O'Brien-Murphy
Mary-Kate O'Neil
Jean 'JJ' -- Smith
Robert "Bob" Jones
Mike "The Hammer" O'Toole
Elizabeth 'Liz' O'Connor
Dr. Anne-Marie D'Souza, MD
Sinéad Ní Bhriain
Ngũgĩ wa Thiong'o
Amadou N'Diaye
Da'Quan O'Neal
Ja'Marr O'Connell
Ma'ayan Or
Or Cohen
Ya'akov Ben-David
Isma'il Al-Mu'tasim
Kealiʻi Kahananui
Jan van 't Hof
O’Brien
D’Angelo & Sons
's-Hertogenbosch, Netherlands
Coeur d'Alene, ID
Val-d'Or, Québec
St. John's, NL
Land O' Lakes, FL
Truth or Consequences, NM
Palme d'Or winner is announced tonight
Ballon d'Or winner is always controversial
Rock 'n' Roll
Rock 'n' roll -- all night long
it's 'this' or 'that'
Is it 'real' or false advertising?
'Tea' or 'coffee' is the eternal question
Whether it's 'good' or 'great' is up to you
"Good" or "great" is debatable
Grades: 'A' or better = honor roll
Pick 'A' or 'B' -- your choice
Podcasts: kids' or true crime, nothing else
Dad (retired) and Mom is still teaching
Me (left) and Sam like hiking
Kids (3) and dogs (2) = chaos
Call (mornings) or text is best
Chris' or Alex's is fine for pickup
James' and Anna's is the best wedding I've been to
Favorite quote: 'Stay hungry' -- Steve Jobs
'Be yourself; everyone else is already taken.' -- Oscar Wilde
"The only way out is through." -- Robert Frost
"Hello, World!" -- my first program
Me: "one more episode" -- also me at 3am
'Crazy' -- Gnarls Barkley, on repeat
He said 'no'; I said 'yes'
She said "yes"; we're engaged!
I love 'Friends'; also 'Seinfeld'
Top song this week: 'Yesterday' #2
Chris' #1 fan
Team 'Blue' #1!
Sarah's 'special' #brownies
Call me 'Sam' ;)
Jazz, blues & 'whatever's on' -- I'm easy
Mom's "famous" -- and only -- recipe
The Smiths' -- my favorite band
Ladies' Night -- Thursdays
Farmers' Market; drop in any Saturday
Height: 5'10"; weight: none of your business
12" pizza; extra cheese
'Til the end
'Tis the season
'Twas the night before Christmas
'Sup?
Class of '99
Class of '99 -- go Tigers!
'80s kid, '90s teen
Y'all come back now
Ma'am, yes ma'am
Where 1 = 1 is true in math
Boolean algebra: x or 1 = 1
2 + 2 = 4; 1 = 1
Is "1 = 1" a trick question?
Select from the menu
Select one from the list
Select all from the drop-down
I select wines from Bordeaux and Rioja
Union Select Committee on Housing
Union Street Bakery
What's new? Union members select a delegate
Drop me a line
Drop table tennis class on Fridays
Please drop Database Systems from my schedule
Drop user feedback in the box by the door
Don't drop the table, please
Update: we moved!
Update: we moved! New address: 12 Union St.
Meeting moved to 3pm; update your calendars
Note to self; update resume
See you at 7; select a seat anywhere
Closed Monday; drop by Tuesday instead
Office closed; delete this reminder after Friday
Grant ended in June; grant renewal pending
Wrote the code; execute the tests tomorrow
It's Friday; select a movie from the list
Delete from my cart later
Delete from drafts when done
Insert coin
Insert into slot B, then press start
Sleep (8 hours) is non-negotiable
Need more sleep (and coffee)
Benchmark (2023) results inside
Regular expression (regex) enthusiast
My resting facial expression (neutral) scares people
Reading 'JavaScript: The Good Parts' again
Favorite book: JavaScript: The Definitive Guide
VBScript: never again
Onions = flavor
Ontario=home, Quebec=family
Status: online = yes, available after 5
DBA by day; SELECT coffee FROM kitchen by night
I once ran DELETE FROM users without a WHERE. Never again.
Ask me about the time I dropped a production table
/* under construction */
C programmer /* comments welcome */
Tom & Jerry
I <3 Rust
I <3 NY
<3 <3 <3
miss you </3
a < b and c > d
x <= y and y >= z
5 < 10 > 3
<-- that's me in the photo
Scroll down -->
<<< back to the top
Emoticons: ;-) :-- <--
:-- wow
Hi! ;-) -- Anna
-- signed, Anna
--Anna
#1 dad
#TeamRust
C# developer, F# hobbyist
Learning 'C#' and Rust
50% off
100% cotton
Strong beer, 8%ABV
Save 20%-30% this week
99.9% uptime or your money back
C:\Users
C:\Users\Public\Documents
D:\Photos\2023\Summer
My PC crashed: C:\Windows\System32\ntdll.dll error
I edited /etc/hosts and now login fails
...and so on
Wait... what?
So.../what now?
Tip: cd .. goes up one folder
e.g.. typo
version 1.2.3
v2..v3 changes
Dr. Jekyll / Mr. Hyde
Tom's & Jerry's
Ben & Jerry's #1 fan
AT&T; Verizon before that
Q&A with the team
R&D / Product
Marks & Spencer
Mom & Pop's Diner
Salt 'n' Pepa
Guns N' Roses
Fish 'n' chips; beer on tap
Kids' Corner Daycare
Teachers' Credit Union
O'Reilly Media
L'Oréal Paris
Dell'Orto S.p.A.
D'Arcy & D'Amico LLP
Côte d'Ivoire
Kraków & Łódź
Zoë Ä. Smith
José María Aznar-López
北京
Where's the "any" key?
Price: $5 -- cheap!
Re: update
Fwd: Re: Select plan
[Update] New address below
(Draft) Union meeting notes
Order #12345 -- still not shipped
Ticket #42; see attached
Allergies: nuts; shellfish
Pronouns: she/her; they/them
He/him | Rust & Go | ex-'startup guy'
Error 404: bio not found
404 sleep not found
git commit -m 'hello world'
echo "hi" > /dev/null
He's 6'1" or 6'2", not sure
https://example.com/a?b=c
https://example.com/search?q=select+from&page=2
""".strip("\n").split("\n")

# --- Names ------------------------------------------------------------------------------------------------------------
# (given names, family names) per culture; Latin-script cultures also feed handles and e-mail addresses.

CULTURES = {
    "english": (
        ["James", "Mary", "Olivia", "Liam", "Emma", "Noah", "Ava", "William", "Sophia", "Benjamin", "Charlotte",
         "Henry", "Amelia", "Jack", "Harper", "Oliver", "Evelyn", "Lucas", "Abigail", "Mason", "Emily", "Ethan",
         "Ella", "Alexander", "Grace", "Daniel", "Chloe", "Matthew", "Lily", "Samuel", "Hannah", "Joseph", "Zoe",
         "David", "Nora", "Andrew", "Riley", "Christopher", "Victoria", "Jonathan", "Madison", "Tyler", "Brianna",
         "Kevin", "Megan", "Ryan", "Kayla", "Brandon", "Ashley", "Justin", "Margaret", "Edward", "Dorothy",
         "Harold", "Beverly", "Gregory", "Denise", "Wade", "Bethany", "Max", "Jo", "Sam", "Alex", "Pat", "Kim"],
        ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
         "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
         "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson",
         "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
         "Collins", "Stewart", "Morris", "Reed", "Cook", "Bell", "Murphy", "Bailey", "Cooper", "Richardson",
         "Howard", "Ward", "Peterson", "Gray", "Hughes", "Price", "Bennett", "Wood", "Barnes", "Ross", "Coleman",
         "Null", "Case", "Cast", "Select", "Sleeper", "Union", "Table", "Drop", "Script", "Alert", "Marks",
         "Bench", "Order", "Count", "Max", "Trigger", "Cursor", "Joiner", "Update", "From"],
    ),
    "irish": (
        ["Seán", "Siobhán", "Niamh", "Aoife", "Ciarán", "Eoin", "Oisín", "Saoirse", "Róisín", "Pádraig",
         "Caoimhe", "Darragh", "Fionnuala", "Tadhg", "Sinéad", "Declan", "Bríd", "Cormac", "Eimear", "Ruairí",
         "Aisling", "Colm", "Deirdre", "Fergal", "Gráinne"],
        ["O'Brien", "O'Connor", "O'Sullivan", "O'Neill", "O'Reilly", "O'Donnell", "O'Leary", "O'Mahony",
         "O'Shea", "O'Toole", "O'Hara", "O'Rourke", "O'Dwyer", "O'Callaghan", "Ó Briain", "Ó Súilleabháin",
         "Ní Bhriain", "Ní Dhomhnaill", "Mac Giolla Phádraig", "MacDonald", "McCarthy", "McLaughlin",
         "Fitzgerald", "Kennedy", "Byrne", "Ryan", "Walsh", "Doyle", "O’Malley", "O’Keeffe"],
    ),
    "french": (
        ["Jean-Luc", "Marie-Claire", "François", "Élodie", "Hélène", "Amélie", "Benoît", "Céline", "Gaëlle",
         "Loïc", "Anaïs", "Noël", "Maëlle", "Théo", "Jérôme", "Zoë", "Anne-Sophie", "Jean-Baptiste", "Chloé",
         "Mathéo", "Léa", "Inès", "Raphaël", "Aurélie", "Clémence"],
        ["D'Arcy", "Le Blanc", "de La Fontaine", "Lefèvre", "Giraud", "Beaumont", "Dupont", "Fournier",
         "Bérubé", "Côté", "Gagné", "L'Heureux", "D'Aoust", "Desjardins", "de Saint-Exupéry", "Lévesque",
         "Dubois", "Lemaître", "Moreau", "Rousseau", "D'Amours", "L'Écuyer", "Bouchard", "Pelletier",
         "Laurent"],
    ),
    "italian": (
        ["Giuseppe", "Francesca", "Alessandro", "Giulia", "Lorenzo", "Chiara", "Matteo", "Beatrice",
         "Niccolò", "Federica", "Gianluca", "Martina", "Tommaso", "Ilaria", "Pietro", "Elisa"],
        ["D'Angelo", "D'Amico", "De Luca", "Dell'Acqua", "D'Alessandro", "Lo Bianco", "Dall'Ara", "Rossi",
         "Bianchi", "Esposito", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti", "Mancini", "Dell'Orto",
         "D'Oria", "Dall'Oglio", "D'Orazio", "Sant'Angelo", "D'Errico", "Dell'Utri", "Colombo"],
    ),
    "hispanic": (
        ["José María", "María José", "Ana Sofía", "Juan Pablo", "Luis Fernando", "Ximena", "Itzel",
         "Guadalupe", "Alejandro", "Valentina", "Santiago", "Camila", "Mateo", "Lucía", "Nicolás", "Renata",
         "Joaquín", "Begoña", "Íñigo", "Maite", "Jesús", "Concepción", "Ramón", "Marisol", "Héctor"],
        ["García-López", "Hernández", "Martínez", "Rodríguez", "Pérez de la Cruz", "Núñez", "Ibáñez", "Muñoz",
         "Peña", "Álvarez", "Fernández y Gómez", "de los Santos", "del Río", "Ruiz", "Castillo", "Ortega",
         "Vega", "Sánchez", "Gutiérrez", "Domínguez", "O'Donnell", "Echeverría", "Zúñiga", "Cortés",
         "Villaseñor"],
    ),
    "lusophone": (
        ["João", "Conceição", "Gonçalo", "Inês", "Thiago", "Luíza", "Gabriel", "Beatriz", "Rafael", "Letícia",
         "Vinícius", "Mariana", "Caio", "Débora", "Antônio"],
        ["Gonçalves", "da Silva", "dos Santos", "Araújo", "Magalhães", "Assunção", "Ferreira", "Pereira",
         "Carvalho", "Simões", "Brandão", "Conceição", "Falcão", "Guimarães", "Sant'Anna"],
    ),
    "germanic": (
        ["Jürgen", "Jörg", "Björn", "Søren", "Åsa", "Kjersti", "Sigríður", "Annika", "Maximilian", "Lena",
         "Friederike", "Mads", "Freja", "Linnéa", "Pieter", "Sanne", "Jan-Willem", "Anneke", "Þór", "Ingrid",
         "Lars", "Sven", "Katharina", "Jonas", "Mia"],
        ["Müller", "Schröder", "Weiß", "Groß", "Böhm", "Mäkinen", "Järvinen", "Ångström", "Øvergaard",
         "Sørensen", "Þórsdóttir", "Guðmundsson", "van der Berg", "de Vries", "van 't Hof", "op 't Eynde",
         "Van 't Veer", "Schäfer", "Krüger", "Hoffmann", "Lindqvist", "Nieminen", "Vogel", "Jansen",
         "von Bülow"],
    ),
    "slavic": (
        ["Łukasz", "Małgorzata", "Grzegorz", "Wojciech", "Agnieszka", "Jiří", "Tereza", "Ondřej", "Zdeněk",
         "Mária", "Ľubomír", "Milica", "Đorđe", "Dušan", "Ivana", "Katarzyna", "Paweł", "Zuzana", "Petra",
         "Tomáš"],
        ["Kowalski", "Wiśniewska", "Wójcik", "Żółkiewski", "Brzęczyszczykiewicz", "Dvořák", "Novák",
         "Procházková", "Šťastný", "Jovanović", "Petrović", "Horvat", "Kovačević", "Nowak", "Zieliński",
         "Krejčí", "Marković", "Babić", "Szymańska", "Lewandowski"],
    ),
    "hungarian_romanian": (
        ["Gergő", "Zsófia", "Ioana", "Răzvan", "Ştefan", "Bence", "Réka", "Andreea", "Mihai", "Ágnes"],
        ["Nagy", "Szabó", "Kovács", "Popescu", "Ionescu", "Tóth", "Dumitrescu", "Horváth", "Munteanu",
         "Németh"],
    ),
    "turkish": (
        ["Şükrü", "Gülşen", "Ayşe", "Mehmet", "İbrahim", "Çağla", "Ömer", "Ece", "Burak", "Zeynep", "Elif",
         "Emre"],
        ["Öztürk", "Çelik", "Yılmaz", "Demir", "Kaya", "Şahin", "Aydın", "Doğan", "Arslan", "Koç", "Kılıç",
         "Özdemir"],
    ),
    "arabic_latin": (
        ["Mohammed", "Ahmad", "Fatima", "Aisha", "Ali", "Maryam", "Youssef", "Nour", "Khalid", "Layla",
         "Sa'ad", "Ja'far", "Isma'il", "Ra'ed", "Da'ud", "Shu'aib", "Mu'awiya", "Abdul-Rahman", "Abd al-Aziz",
         "Nour El-Din", "Hiba", "Rania", "Omar", "Yasmin", "Tariq"],
        ["Al-Farsi", "Al-Zahra", "Al-Mansour", "El-Sayed", "Haddad", "Khoury", "Ibn Said", "bin Rashid",
         "Abu Bakr", "Al-Qasimi", "Al-Ma'mun", "Al-Sa'di", "Abdel-Fattah", "Nasrallah", "Mansour", "Saleh",
         "Al-Hashimi", "Ben Ali", "Bou Khalil", "Al-Khatib"],
    ),
    "hebrew_latin": (
        ["Or", "Ma'ayan", "No'a", "Ya'akov", "Sha'ul", "Yisra'el", "Tamar", "Noam", "Yael", "Itai", "Shira",
         "Ariel", "Avital", "Eitan", "Or-Li"],
        ["Cohen", "Levi", "Ben-David", "Be'eri", "Shapira", "Mizrahi", "Peretz", "Ben-Ami", "Friedman",
         "Or", "Ga'on", "Dahan", "Ohana", "Katz", "Ben-Or"],
    ),
    "south_asian": (
        ["Aarav", "Priya", "Venkataraman", "Lakshmi", "Gurpreet", "Harpreet", "Anjali", "Rohan", "Neha",
         "Vikram", "Sreenivasan", "Karthik", "Aishwarya", "Raj", "Irfan", "Deepika", "Arjun", "Sunita",
         "Farhan", "Meenakshi", "Sanjay", "Kavya", "Rahul", "Pooja", "Zainab"],
        ["Sharma", "Patel", "Subramanian", "Narayanan", "Singh Dhillon", "Kaur", "D'Souza", "D'Mello",
         "D'Costa", "D'Silva", "Iyer", "Reddy", "Chatterjee", "Banerjee", "Gupta", "Menon", "Nair", "Rao",
         "Khan", "Qureshi", "Chaudhary", "Pillai", "Mukherjee", "Fernandes", "Desai"],
    ),
    "east_asian_latin": (
        ["Wei", "Na", "Min", "Jing", "Yang", "Tai Man", "Ka Yan", "Chia-hao", "Ken", "Hanako", "Daisuke",
         "Ryōta", "Yūki", "Kimiko", "Min-jun", "Seo-yeon", "Ji-hoon", "Soo-ah", "Ye-jun", "Haruto", "Sakura",
         "Xiaoming", "Mei", "Hyun-woo", "Jia Hui"],
        ["Wang", "Li", "Zhang", "Chen", "Liu", "Chan", "Wong", "Lin", "Satō", "Suzuki", "Takahashi", "Itō",
         "Yamamoto", "Date", "Kim", "Lee", "Park", "Choi", "Jung", "Min", "Nakamura", "Huang", "Tanaka",
         "Ng", "Oh"],
    ),
    "vietnamese": (
        ["Văn An", "Thị Bích", "Hoàng Nam", "Minh Châu", "Thu Trang", "Quốc Bảo", "Thanh Hương", "Đức Anh",
         "Ngọc Lan", "Tuấn Kiệt"],
        ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Bùi", "Võ", "Phan", "Huỳnh"],
    ),
    "african": (
        ["Chimamanda", "Ngozi", "Oluwaseun", "Adaeze", "Chukwuemeka", "Kwame", "Akosua", "Nomvula", "Sipho",
         "Wanjiru", "Amadou", "Fatou", "Awa", "Moussa", "Aminata", "Mamadou", "Ousmane", "Yaw", "Tendai",
         "Abebe", "Tsion", "Hirut", "Chiamaka", "Ikenna", "Olúwatóyìn", "Mwangi", "N'Golo", "N'Deye",
         "Thandiwe", "Kofi"],
        ["Adichie", "Okonjo", "Adébáyọ̀", "Nwosu", "Obi", "Mensah", "Boateng", "Dlamini", "Ndlovu", "Kamau",
         "N'Diaye", "N'Dour", "N'Doye", "Traoré", "Diallo", "Sembène", "Asante", "Moyo", "Bikila", "Tadesse",
         "Alemu", "Eze", "Okafor", "Àdìsá", "Otieno", "M'Bala", "Kanté", "Ouédraogo", "Mbeki", "Achebe"],
    ),
    "african_american": (
        ["Da'Quan", "De'Andre", "Ja'Marr", "La'Keisha", "Sha'Carri", "Ke'Shawn", "Ta'Nisha", "Tre'Von",
         "A'ja", "D'Andre", "Jah'Mir", "Mar'Quis", "Ty'Quan", "Le'Veon", "De'Aaron", "T'Keyah", "Ke'Andre",
         "Shaniqua", "DeShawn", "Imani", "Jamal", "Keisha", "Tyrone", "Aaliyah", "Darnell"],
        ["Washington", "Jefferson", "Jackson", "Robinson", "Freeman", "Brooks", "Banks", "Booker", "Gaines",
         "Mosley", "Dorsey", "Wiggins", "Hairston", "Battle", "Toussaint", "O'Neal", "Carver", "Holloway",
         "Pettaway", "Merriweather"],
    ),
    "polynesian": (
        ["Kealiʻi", "Kaʻiulani", "Keʻala", "Leilani", "Māui", "Aroha", "Tāne", "Hēmi", "Sione", "Losaline",
         "Malia", "Ngaio", "Wiremu", "Mere", "Kahu"],
        ["Kahale", "Te Whiu", "Ngata", "Tupou", "Fifita", "Fonoti", "Kahananui", "Te Rangi", "Parata",
         "Tāmihana", "Kealoha", "Akana", "Nāone", "Tuilagi", "Faleolo"],
    ),
    "celtic_other": (
        ["Llywelyn", "Rhiannon", "Ffion", "Dafydd", "Gwenllian", "Iolo", "Morag", "Eilidh", "Ruaridh",
         "Catrìona"],
        ["ap Gruffudd", "ap Dafydd", "Pritchard", "Llewellyn", "MacLeòid", "Mac an t-Saoir", "Bowen",
         "Prosser", "MacKinnon", "Ó Ceallaigh"],
    ),
}

# Names in their own script, written the way they are written there (family name first where that is usual).
NATIVE_SCRIPT = {
    "chinese": (["伟", "娜", "敏", "洋", "静", "磊", "丽", "强", "杰", "芳", "明", "悦", "琳", "超", "斌", "晶",
                 "欢", "志强", "秀英", "建华", "子涵", "浩然", "雨萱", "梓轩"],
                ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "朱", "马", "胡", "郭",
                 "何", "林", "欧阳", "司马"], "{last}{first}"),
    "japanese": (["健", "花子", "大輔", "美咲", "翔", "さくら", "蓮", "結衣", "陽翔", "愛", "拓海", "陽菜",
                  "悠真", "莉子"],
                 ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田",
                  "山田"], "{last} {first}"),
    "korean": (["민준", "서연", "지훈", "수아", "예준", "하은", "도윤", "지우", "서준", "하윤", "현우", "지민"],
               ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"], "{last}{first}"),
    "russian_m": (["Иван", "Дмитрий", "Сергей", "Алексей", "Михаил", "Андрей", "Николай", "Павел",
                   "Владимир", "Артём"],
                  ["Петров", "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
                   "Новиков", "Морозов"], "{first} {last}"),
    "russian_f": (["Анна", "Ольга", "Наталья", "Екатерина", "Мария", "Татьяна", "Елена", "Светлана",
                   "Юлия", "Дарья"],
                  ["Петрова", "Иванова", "Смирнова", "Кузнецова", "Попова", "Соколова", "Лебедева",
                   "Козлова", "Новикова", "Морозова"], "{first} {last}"),
    "ukrainian": (["Олександр", "Оксана", "Юлія", "Андрій", "Богдан", "Ірина", "Тарас", "Ґалина", "Євген",
                   "Марʼяна"],
                  ["Шевченко", "Коваленко", "Бондаренко", "Мельник", "Ткаченко", "Кравчук", "Олійник",
                   "Лисенко", "Гнатюк", "Мʼякота"], "{first} {last}"),
    "greek": (["Αλέξανδρος", "Γιώργος", "Νίκος", "Δημήτρης", "Κώστας", "Ελένη", "Μαρία", "Κατερίνα",
               "Σοφία", "Δέσποινα"],
              ["Παπαδόπουλος", "Παπαδοπούλου", "Οικονόμου", "Γεωργίου", "Νικολάου", "Βασιλείου",
               "Αντωνίου", "Μαυρίδης", "Καραγιάννη", "Λαμπράκης"], "{first} {last}"),
    "arabic": (["محمد", "أحمد", "فاطمة", "عائشة", "علي", "مريم", "يوسف", "نور", "خالد", "ليلى", "عمر",
                "سارة"],
               ["العلي", "الحسن", "عبد الله", "بن سعيد", "الخطيب", "المصري", "حداد", "الشامي", "القحطاني",
                "النجار"], "{first} {last}"),
    "persian_urdu": (["سارا", "رضا", "مریم", "علی", "زهرا", "عائشہ", "عمران", "فاطمہ"],
                     ["محمدی", "حسینی", "رضایی", "کریمی", "خان", "قریشی", "احمدی", "صدیقی"], "{first} {last}"),
    "hebrew": (["נועה", "יוסף", "מיכל", "אור", "תמר", "איתי", "שירה", "דוד", "יעל", "אריאל"],
               ["כהן", "לוי", "מזרחי", "פרץ", "ביטון", "אוחנה", "שפירא", "פרידמן", "אברהם", "דהן"],
               "{first} {last}"),
    "hindi": (["अमित", "प्रिया", "राहुल", "सुनीता", "अनीता", "विकास", "पूजा", "संजय", "नेहा", "अर्जुन"],
              ["शर्मा", "पटेल", "वर्मा", "देवी", "गुप्ता", "सिंह", "यादव", "कुमार", "जोशी", "मिश्रा"],
              "{first} {last}"),
    "bengali_tamil": (["রবীন্দ্রনাথ", "সুমন", "অনন্যা", "কார்த்திக்", "பிரியா", "அருண்"],
                      ["ঠাকুর", "বসু", "চৌধুরী", "ராஜா", "சுப்பிரமணியன்", "கண்ணன்"], None),
    "thai": (["สมชาย", "สุดารัตน์", "วิชัย", "กนกวรรณ", "ประเสริฐ", "นภา"],
             ["ใจดี", "ทองดี", "ศรีสุข", "วงศ์สวัสดิ์", "แก้วมณี", "บุญมา"], "{first} {last}"),
    "other_scripts": (["ნინო", "გიორგი", "Արամ", "Անի", "አበበ", "ሰላም", "Батбаяр", "Сарнай"],
                      ["ბერიძე", "კაპანაძე", "Խաչատրյան", "Պետրոսյան", "ቢቂላ", "ተስፋዬ", "Дорж", "Болд"], None),
}

NICKNAMES = ["JJ", "Bob", "Bobby", "Liz", "Beth", "Mac", "Doc", "Red", "Ace", "Sunny", "Buddy", "Kiki", "Tito",
             "Gigi", "Bubba", "Chip", "Sandy", "Smitty", "Lulu", "Pip", "Moe", "Coco", "Dee", "Jojo", "Nico",
             "The Hammer", "Big Al", "Tiny", "Skip", "Scooter", "Mimi", "Bear"]
PREFIXES = ["Dr.", "Prof.", "Mr.", "Mrs.", "Ms.", "Mx.", "Rev.", "Sr.", "Sra.", "Herr", "Frau", "M.", "Mme",
            "Capt.", "Sir", "Dame"]
SUFFIXES = ["Jr.", "Sr.", "II", "III", "IV", "PhD", "MD", "Esq.", "CPA", "MBA", "RN", "DDS", "P.Eng.",
            "(ret.)"]
PRONOUNS = ["(she/her)", "(he/him)", "(they/them)", "(she/they)", "(he/they)", "(any pronouns)"]


def initial(name):
    return name[0] + "."


def person_name(rng):
    culture = rng.choice(list(CULTURES))
    firsts, lasts = CULTURES[culture]
    first, last = rng.choice(firsts), rng.choice(lasts)
    roll = rng.random()
    if roll < 0.40:
        return f"{first} {last}"
    if roll < 0.48:
        return f"{last}, {first}"
    if roll < 0.56:
        other = rng.choice(firsts)
        return f"{first} {initial(other)} {last}"
    if roll < 0.62:
        quote = rng.choice(["'", '"', "“", "‘"])
        close = {"'": "'", '"': '"', "“": "”", "‘": "’"}[quote]
        return f"{first} {quote}{rng.choice(NICKNAMES)}{close} {last}"
    if roll < 0.65:
        return f"{first} ({rng.choice(NICKNAMES)}) {last}"
    if roll < 0.71:
        return f"{rng.choice(PREFIXES)} {first} {last}"
    if roll < 0.77:
        sep = rng.choice([", ", " "])
        return f"{first} {last}{sep}{rng.choice(SUFFIXES)}"
    if roll < 0.82:
        return f"{first} {last}-{rng.choice(lasts)}"
    if roll < 0.85:
        return f"{initial(first)} {last}"
    if roll < 0.88:
        return f"{first} {last}".lower()
    if roll < 0.90:
        return f"{first} {last}".upper()
    if roll < 0.94:
        return f"{first} {last} {rng.choice(PRONOUNS)}"
    if roll < 0.97:
        other_first = rng.choice([f for f in firsts if f != first])
        return f"{first} & {other_first} {last}"
    return first


def native_name(rng):
    firsts, lasts, fmt = NATIVE_SCRIPT[rng.choice(list(NATIVE_SCRIPT))]
    first, last = rng.choice(firsts), rng.choice(lasts)
    if fmt is None:
        return f"{first} {last}"
    return fmt.format(first=first, last=last)


def mixed_name(rng):
    """A Latin-script name with the native form alongside, as people with two names often write it."""
    culture = rng.choice(["chinese", "japanese", "korean", "russian_m", "russian_f", "greek", "arabic", "hindi"])
    firsts, lasts, fmt = NATIVE_SCRIPT[culture]
    native = fmt.format(first=rng.choice(firsts), last=rng.choice(lasts))
    latin_first = rng.choice(CULTURES["english"][0] + CULTURES["east_asian_latin"][0])
    latin_last = rng.choice(CULTURES["east_asian_latin"][1] + CULTURES["english"][1][:40])
    return rng.choice(["{lf} {ll} ({n})", "{n} / {lf} {ll}", "{lf} {ll} · {n}", "{n} ({lf})"]).format(
        lf=latin_first, ll=latin_last, n=native)


# --- Handles and display names ----------------------------------------------------------------------------------------

ADJECTIVES = ["quiet", "sleepy", "happy", "lazy", "cosmic", "rusty", "salty", "spicy", "lucky", "fuzzy", "brave",
              "tiny", "grumpy", "sunny", "midnight", "electric", "wandering", "caffeinated", "curious", "neon",
              "retro", "silent", "wild", "golden", "frosty", "crispy", "humble", "chaotic", "polite", "dancing"]
NOUNS = ["falcon", "otter", "panda", "owl", "fox", "koala", "penguin", "llama", "tiger", "coder", "gardener",
         "baker", "pilot", "wizard", "ninja", "pirate", "nomad", "hacker", "dreamer", "biker", "runner",
         "writer", "teapot", "pixel", "cactus", "walrus", "noodle", "comet", "badger", "squirrel"]
EMOJI = ["🌻", "🚀", "🎧", "🐱", "🌊", "☕", "🌈", "🍕", "🎸", "📚", "🏔", "🌙", "⚽", "🐶", "🍀", "🦊", "🎮",
         "🧁", "🌵", "🔥", "✨", "🙂", "😎", "💜"]
INTERESTS = ["Rust", "Go", "Python", "SQL", "Postgres", "coffee", "cats", "dogs", "running", "climbing",
             "photography", "jazz", "chess", "baking", "gardening", "cycling", "sci-fi", "K-pop", "anime",
             "hiking", "yoga", "board games", "vinyl", "birding", "sourdough", "F1", "football", "knitting"]


def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("ø", "o").replace("Ø", "O").replace("ð", "d").replace("Þ", "Th").replace("þ", "th")
    s = s.replace("æ", "ae").replace("ß", "ss").replace("ł", "l").replace("Ł", "L").replace("đ", "d")
    s = s.replace("Đ", "D").replace("ı", "i").replace("ʻ", "").replace("’", "'")
    return s if s.isascii() else None


def latin_name_parts(rng):
    firsts, lasts = CULTURES[rng.choice(list(CULTURES))]
    return rng.choice(firsts), rng.choice(lasts)


def handle(rng):
    while True:
        first, last = latin_name_parts(rng)
        f, l = ascii_fold(first), ascii_fold(last)
        if f and l:
            break
    f = f.replace(" ", "").replace("'", "")
    l = l.replace(" ", "").replace("'", "")
    adj, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
    n = rng.choice(["", str(rng.randint(1, 99)), str(rng.randint(1960, 2012)), "_", "x", "42", "007"])
    forms = [
        f"{f.lower()}.{l.lower()}", f"{f.lower()}_{l.lower()}{n}", f"{f.lower()}{l.lower()}{n}",
        f"{f[0].lower()}{l.lower()}{n}", f"the_real_{f.lower()}", f"xX_{f}_Xx", f"{f.lower()}-codes",
        f"@{f.lower()}{n}", f"{adj.capitalize()}{noun.capitalize()}{n}", f"{adj}_{noun}{n}",
        f"{adj}.{noun}", f"{noun}_{f.lower()}", f"{f} {rng.choice(EMOJI)}", f"{f} | {rng.choice(INTERESTS)}",
        f"{f} ({rng.choice(INTERESTS)} nerd)", f"{f} the {noun.capitalize()}", f"{f}{rng.choice(EMOJI)}{n}",
        f"{f} @ {rng.choice(COMPANY_WORDS)}", f"{f.upper()}_{n or '1'}", f"Not{f}", f"{f}IsAwake",
        f"{adj} {noun}", f"{f} {l[0]}.", f"{f}-{l}", f"{f} 'the {noun}' {l}",
        f"{f} ✦ {rng.choice(INTERESTS)} & {rng.choice(INTERESTS)}",
    ]
    return rng.choice(forms)


FUN_DISPLAY = ["Mr. Pickles", "Captain Obvious", "Dr. Nope", "Professor Chaos", "Auntie Em", "Uncle Bob",
               "Coffee & Code", "Just Another Dev", "404 Name Not Found", "null pointer", "Undefined Behavior",
               "The Night Shift", "Semicolon Enjoyer", "Table Flipper (╯°□°)╯︵ ┻━┻", "¯\\_(ツ)_/¯",
               "Sir Reads-a-Lot", "Lady Bug", "Mx. Fixit", "Cat Herder-in-Chief", "Bug Whisperer",
               "Chief Snack Officer", "Dad Jokes Inc.", "Plant Mom 🌿", "The Other Sam", "Not a Robot",
               "Select Few", "Union Jack", "Drop Bear", "Sleepy Joe's Coffee", "Null & Void", "Alert Citizen",
               "Script Kiddo (reformed)", "Order of the Phoenix fan", "Group Project Survivor", "Having Fun",
               "Where's Waldo", "Count Dracula", "Max Power", "Case Closed", "Cast Away", "Like A Boss",
               "Exec Chef Marco", "Update Pending...", "Insert Name Here", "Delete Me Not", "Benchmark Bill",
               "Onion Knight", "Document Dan", "Window Seat Wendy", "Script Doctor", "Body & Soul Yoga",
               "Style Points", "Form & Function", "Base Camp Betty", "Meta Matt", "Prompt Pam",
               "Truth or Dare", "Either/Or", "This & That", "Odds 'n' Ends", "Bits & Bobs", "Rise 'n' Shine",
               "Pick 'n' Mix", "Shake 'n' Bake", "Rock 'n' Roll Randy", "Mac 'n' Cheese", "Wait... What?",
               "So... yeah", "Hmm...", "-_-", "^_^", ":-)", ";-)", "<3 books <3", "<-- new here",
               "~*~ Stella ~*~", "~ Ana ~", "-= Kai =-", "[AFK] Bob", "{Ana}", "(Sam)", "#1 Fan", "100% Human",
               "50% Coffee 50% Anxiety", "Team 'No Sleep'", "Sam 'Stats' Lee", "\"Lucky\" Lou"]

# --- Jobs, companies, addresses ---------------------------------------------------------------------------------------

SENIORITY = ["", "", "Junior", "Senior", "Lead", "Principal", "Staff", "Head of", "Chief", "Associate",
             "Assistant", "Deputy", "Acting", "Interim", "VP,", "Director of", "Sr.", "Jr."]
FIELDS = ["Software", "Data", "Platform", "Security", "Product", "Sales", "Marketing", "Customer Success",
          "Finance", "HR", "Operations", "Design", "QA", "Research", "Legal", "Support", "Infrastructure",
          "Growth", "People", "Content", "Database", "Mobile", "Backend", "Frontend", "Cloud", "IT", "Payments",
          "Compliance", "Supply Chain", "Facilities"]
ROLES = ["Engineer", "Developer", "Manager", "Analyst", "Architect", "Designer", "Consultant", "Specialist",
         "Administrator", "Coordinator", "Scientist", "Strategist", "Officer", "Advocate", "Writer", "Lead",
         "Intern", "Technician", "Partner", "Associate"]
PLAIN_JOBS = ["Nurse", "Teacher", "Chef", "Barista", "Electrician", "Plumber", "Carpenter", "Librarian",
              "Pharmacist", "Accountant", "Architect", "Dentist", "Veterinarian", "Paramedic", "Firefighter",
              "Police Officer", "Bus Driver", "Pilot", "Flight Attendant", "Farmer", "Florist", "Baker",
              "Butcher", "Tailor", "Hairdresser", "Translator", "Interpreter", "Journalist", "Photographer",
              "Social Worker", "Therapist", "Physiotherapist", "Midwife", "Surgeon", "Radiologist", "Lawyer",
              "Paralegal", "Notary", "Real Estate Agent", "Mortgage Broker", "Insurance Adjuster",
              "Union Representative", "Shop Steward", "Select Committee Clerk", "Grant Writer",
              "Executive Assistant", "Exec Chef", "Sous-Chef", "Drop-off Coordinator", "Sleep Technician",
              "Benchmark Analyst", "Script Supervisor", "Casting Director", "Table Games Dealer",
              "Update Coordinator (IT)", "Data Entry Clerk", "SQL Developer", "Database Administrator (DBA)",
              "Web Developer (HTML/CSS/JS)", "JavaScript Developer", "Penetration Tester", "Security Analyst",
              "Student", "PhD Candidate", "Retired", "Stay-at-home Parent", "Freelancer", "Self-employed",
              "Volunteer", "Unemployed (looking!)", "Co-founder", "CEO", "CTO", "CFO", "COO", "Owner",
              "Founder & CEO", "Sole Proprietor", "Barber", "Mechanic", "Welder", "Machinist", "Warehouse Associate",
              "Courier", "Cashier", "Store Manager", "Sommelier", "Bartender", "Tour Guide", "Lifeguard",
              "Coach", "Personal Trainer", "Yoga Instructor", "Musician", "Composer", "Actor", "Dancer",
              "Illustrator", "Animator", "Game Designer", "UX Researcher", "Copywriter", "Editor",
              "Proofreader", "Archivist", "Curator", "Historian", "Economist", "Statistician",
              "Actuary", "Geologist", "Chemist", "Biologist", "Physicist", "Astronomer", "Meteorologist"]
REGIONS = ["EMEA", "APAC", "LATAM", "NA", "DACH", "Nordics", "UK&I", "ANZ", "remote", "part-time", "contract"]

COMPANY_WORDS = ["Blue Harbor", "Maple Leaf", "Silver Birch", "Red Rock", "Golden Gate", "Iron Oak", "Summit",
                 "Lakeside", "Evergreen", "Pioneer", "Union", "Select", "Keystone", "Harbor Light", "Sunrise",
                 "Riverbend", "Northwind", "Contoso", "Fabrikam", "Initech", "Globex", "Acme", "Bluebird",
                 "Cedar & Pine", "Fox & Hound", "Smith & Sons", "Patel & Co.", "Nguyen Brothers",
                 "O'Malley's", "Mom's", "Kids' Corner", "Farmers'", "Teachers'", "Sleep Country", "Drop Zone",
                 "Table Mountain", "Benchmark", "Script & Quill", "Alert", "Onion Ring", "Cookie Jar",
                 "Null Island", "Cursor", "Semicolon", "Dell'Orto", "L'Atelier", "D'Artagnan", "Côté",
                 "Müller & Söhne", "Åkesson", "Łódź", "São Bento", "Sakura", "Lotus", "Baobab", "Kilimanjaro",
                 "Atlas", "Orion", "Nova", "Quantum", "Zenith", "Apex", "Vertex", "Nimbus", "Cobalt"]
COMPANY_KINDS = ["Consulting", "Bakery", "Analytics", "Labs", "Logistics", "Dental Care", "Coffee Roasters",
                 "Books", "Landscaping", "Accounting", "Law Group", "Auto Repair", "Yoga Studio", "Brewing Co.",
                 "Software", "Realty", "Architects", "Pet Grooming", "Tours", "Credit Union", "Pharmacy",
                 "Print Shop", "Hardware", "Florist", "Plumbing & Heating", "Security Services", "Media",
                 "Ventures", "Capital", "Insurance", "Travel", "Bistro", "Pizzeria", "Diner", "Pub", "Clinic",
                 "Foundation", "Daycare", "Academy", "Studio", "Motors", "Solutions", "Systems", "Partners"]
LEGAL_FORMS = ["", "", "", "Ltd.", "LLC", "Inc.", "GmbH", "S.A.", "Pty Ltd", "K.K.", "AB", "Oy", "B.V.",
               "S.r.l.", "Sp. z o.o.", "S.A. de C.V.", "LLP", "PLC", "SAS", "e.V.", "Co., Ltd.", "A/S", "AG",
               "s.r.o.", "Kft.", "Ltda."]
NAMED_COMPANIES = ["O'Reilly & Sons", "Johnson & Johnson", "Procter & Gamble", "Marks & Spencer", "AT&T",
                   "Ben & Jerry's", "Barnes & Noble", "Crate & Barrel", "Dolce & Gabbana", "Mom & Pop's Diner",
                   "Macy's", "McDonald's", "Kellogg's", "Lowe's", "Trader Joe's", "Domino's", "Wendy's",
                   "Sainsbury's", "Dunkin'", "L'Oréal", "Hershey's", "Levi Strauss & Co.", "Moët & Chandon",
                   "Simon & Schuster", "Arm & Hammer", "Bang & Olufsen", "Fortnum & Mason", "Abercrombie & Fitch",
                   "Tiffany & Co.", "H&M", "C&A", "P&O Ferries", "S&P Global", "Q&A Media", "R&D Partners"]

STREET_NAMES = ["Main", "Union", "Oak", "Maple", "Elm", "Cedar", "Pine", "Church", "High", "Market", "Mill",
                "Station", "Park", "Lake", "Hill", "Washington", "Lincoln", "O'Farrell", "Martin Luther King Jr.",
                "St. Mary's", "Queen's", "King's", "Prince's", "Shepherd's Bush", "Fisherman's", "Cherry Tree",
                "Old Mill", "Bishop's", "Select", "Sleepy Hollow", "Drop Forge", "Table Rock", "Water", "Bridge",
                "Front", "River", "Broad", "Spring", "Chestnut", "Walnut", "Willow", "Harbour", "Victoria",
                "Albert", "George", "Collins", "Bourke", "Yonge", "Granville", "Kearny", "Pennsylvania"]
STREET_TYPES = ["Street", "St.", "St", "Avenue", "Ave", "Ave.", "Blvd.", "Boulevard", "Road", "Rd", "Rd.",
                "Lane", "Ln", "Drive", "Dr.", "Way", "Court", "Ct.", "Place", "Pl.", "Terrace", "Crescent",
                "Close", "Parkway", "Square"]
UNITS = ["Apt 4B", "Apt. 12", "Suite 200", "Ste 310", "#12", "# 3", "Unit 7", "Flat 2", "Floor 3", "Rear",
         "Basement", "Room 101", "PO Box 42", "Bldg C", "Apt #5", "c/o Reception", "Door 2", "Apt 3-R"]
CITIES = ["São Paulo", "Zürich", "Kraków", "Montréal", "Reykjavík", "Düsseldorf", "Köln", "Málaga",
          "Besançon", "Nuuk", "Lagos", "Nairobi", "Accra", "Dakar", "Addis Ababa", "Cairo", "Beirut", "Dubai",
          "Mumbai", "Bengaluru", "Chennai", "Dhaka", "Karachi", "Jakarta", "Manila", "Hà Nội", "Bangkok",
          "Seoul", "Tokyo", "Ōsaka", "Shanghai", "Taipei", "Sydney", "Auckland", "Wellington", "Honolulu",
          "Vancouver", "Toronto", "St. John's", "Coeur d'Alene", "Martha's Vineyard", "Land O' Lakes",
          "Winston-Salem", "Wilkes-Barre", "Truth or Consequences", "L'Aquila", "L'Hospitalet de Llobregat",
          "'s-Hertogenbosch", "'s-Gravenhage", "Val-d'Or", "Saint-Rémy-de-Provence", "Llanfairpwllgwyngyll",
          "Chicago", "Austin", "Denver", "Portland", "Boston", "Atlanta", "New Orleans", "Minneapolis",
          "Albuquerque", "Santa Fe", "Anchorage", "Miami", "Seattle", "Brooklyn", "London", "Manchester",
          "Glasgow", "Cardiff", "Belfast", "Dublin", "Cork", "Paris", "Lyon", "Marseille", "Berlin", "München",
          "Wien", "Praha", "Warszawa", "Budapest", "București", "Beograd", "Athína", "İstanbul", "Tel Aviv",
          "Amman", "Casablanca", "Tunis", "Johannesburg", "Cape Town", "Kigali", "Lima", "Bogotá",
          "Ciudad de México", "Buenos Aires", "Santiago", "Montevideo", "Rio de Janeiro", "Lisboa", "Porto",
          "Madrid", "Barcelona", "Sevilla", "Roma", "Milano", "Napoli", "Amsterdam", "Utrecht", "Bruxelles",
          "København", "Stockholm", "Oslo", "Helsinki", "Tallinn", "Rīga", "Vilnius", "Kyiv", "Tbilisi",
          "Yerevan", "Almaty", "Ulaanbaatar", "Kathmandu", "Colombo", "Singapore", "Kuala Lumpur"]
COUNTRIES = ["USA", "U.S.A.", "Canada", "UK", "Ireland", "France", "Deutschland", "España", "Italia",
             "Brasil", "México", "Nigeria", "Kenya", "Ghana", "Sénégal", "Côte d'Ivoire", "India", "Pakistan",
             "Bangladesh", "Việt Nam", "Japan", "日本", "中国", "대한민국", "Россия", "Україна", "Ελλάδα",
             "Türkiye", "Polska", "Česko", "Magyarország", "România", "Sverige", "Norge", "Danmark", "Suomi",
             "Ísland", "Nederland", "België", "Schweiz", "Österreich", "Australia", "New Zealand / Aotearoa",
             "South Africa", "Egypt", "مصر", "Israel", "Lebanon", "Peru", "Colombia", "Argentina", "Chile"]
US_CITIES = [("Chicago", "IL"), ("Austin", "TX"), ("Denver", "CO"), ("Portland", "OR"), ("Boston", "MA"),
             ("Atlanta", "GA"), ("New Orleans", "LA"), ("Minneapolis", "MN"), ("Albuquerque", "NM"),
             ("Santa Fe", "NM"), ("Truth or Consequences", "NM"), ("Anchorage", "AK"), ("Miami", "FL"),
             ("Land O' Lakes", "FL"), ("Seattle", "WA"), ("Brooklyn", "NY"), ("Honolulu", "HI"),
             ("Coeur d'Alene", "ID"), ("Winston-Salem", "NC"), ("Wilkes-Barre", "PA"), ("Columbus", "OH"),
             ("Madison", "WI"), ("Ann Arbor", "MI"), ("Baltimore", "MD"), ("Hartford", "CT"), ("Tucson", "AZ"),
             ("Oakland", "CA"), ("San José", "CA"), ("Española", "NM"), ("Cañon City", "CO"),
             ("Vineyard Haven", "MA"), ("Richmond", "VA"), ("Birmingham", "AL"), ("St. Louis", "MO"),
             ("O'Fallon", "MO"), ("D'Iberville", "MS"), ("Lake Havasu City", "AZ")]
OTHER_ADDRESSES = [
    "12 rue de l'Église", "5 avenue d'Italie", "3 bis, place de l'Hôtel-de-Ville", "8, rue du Faubourg Saint-Honoré",
    "14 quai d'Orsay", "27 rue d'Alésia", "Hauptstraße 5", "Müllerstr. 12a", "Am Kupfergraben 6",
    "Königsallee 92", "Schloßstraße 1, 2. OG", "Calle Mayor 10, 3º 2ª", "C/ O'Donnell 12, 1º izq.",
    "Avda. de la Constitución 4, bajo", "Paseo de Gracia 43, 2º-1ª", "Via dell'Indipendenza 8",
    "Piazza dell'Unità d'Italia 1", "Corso Vittorio Emanuele II, 15", "Via Sant'Antonio 3, int. 4",
    "Prinsengracht 263-267", "Van 't Hoffstraat 4", "Burg. de Monchyplein 1", "ul. Marszałkowska 10/12 m. 5",
    "ul. Świętokrzyska 14/3", "Rua Oscar Freire, 123 - Jardins", "Rua da Conceição, 45, 2º Esq.",
    "Av. Paulista, 1578 - Bela Vista", "Flat 2, 14 King's Road", "10 Downing Street", "221B Baker Street",
    "Unit 3/45 George St", "2/14 Smith St", "Level 5, 1 Martin Place", "Lot 7, RR 2", "Rural Route 1, Box 9",
    "東京都千代田区丸の内1-1-1", "1-2-3 Shibuya, Shibuya-ku, Tokyo 150-0002", "大阪府大阪市北区梅田3-1-3",
    "北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号 25楼", "서울특별시 강남구 테헤란로 152",
    "ул. Тверская, д. 7, кв. 12", "вул. Хрещатик, 22, кв. 5", "Οδός Ερμού 15, Αθήνα",
    "شارع الملك فهد، الرياض", "Plot 14, Admiralty Way, Lekki Phase 1", "Ngong Road, off Argwings Kodhek",
    "House 12, Road 5, Dhanmondi", "No. 42, 3rd Cross, 5th Main, Indiranagar", "Flat 7/B, Bandra (W)",
    "Calle 93 #11-27, Oficina 302", "Carrera 7 No. 71-21", "Av. Corrientes 1234, 5° B",
    "Jl. Sudirman Kav. 52-53", "123 Nguyễn Huệ, Quận 1", "99/1 Sukhumvit Soi 11",
    "Hafnarstræti 20", "Storgata 1, 0155 Oslo", "Mannerheimintie 1 A 5", "Drottninggatan 7, 3 tr",
    "Rynek Główny 1", "Váci utca 10, III/2", "Strada Lipscani 5, ap. 3", "Knez Mihailova 1/II",
]

EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "corp.example",
                 "uni.example.edu", "example.co.uk", "post.example", "test.example", "shop.example.org",
                 "kontakt.example.de", "correo.example.es", "example.fr", "example.jp"]

# --- Phrases, bios and notes ------------------------------------------------------------------------------------------

PHRASES = [
    "Select your plan", "Select all that apply", "Select a date", "Please select one", "Update your settings",
    "Updates from the team", "Update: new phone number", "Delete old photos", "Delete this later",
    "Insert card here", "Insert tab A into slot B", "Drop-off at 5pm", "Drop-in hours: 9-5", "Drop by anytime!",
    "Create an account", "Alter ego: night owl", "Truncate long names please", "Grant writer by trade",
    "Execute order 66", "Declare your major by May", "Shutdown at midnight", "Join us!", "Order now",
    "Group hug", "Having fun", "Where's the party?", "Null and void", "Like and subscribe", "Cast & crew",
    "Case closed", "Count me in", "Sum of all fears", "Max capacity: 50", "Min order $10",
    "Sleep is for the weak", "Benchmark results are in", "Table for two", "Script writer", "Script doctor",
    "Alert: the cat is out", "Cookie monster", "Document everything", "Window seat please", "Source: trust me",
    "Frame by frame", "Onboarding buddy", "On error, retry", "Image is everything", "Body & soul",
    "Style over substance", "Link in bio", "Object permanence", "Input welcome", "Form follows function",
    "Base camp", "Meta as heck", "Expression of interest", "Prompt engineering", "Confirm your email",
    "Eval season again", "Union dues paid", "Credit union member since 1998", "Union Jack flag",
    "Or else!", "And then some", "Either way", "True or false?", "Yes/no/maybe", "Either/or",
    "Like it or not", "Order of operations", "From A to Z", "Where the wild things are", "Is it Friday yet?",
    "Having a great day", "Grouped by color", "Selected works 2010-2020", "Unionized and proud",
    "Updated daily", "Deleted scenes", "Dropped calls", "Inserted by hand", "Sleeping in", "Benchmarking life",
    "Tables turned", "Scripted reality", "On the fence", "One and done", "Onward!", "Once upon a time",
    "Only on Sundays", "Online since 1999", "Open 24/7", "24/7/365", "9 to 5", "Mon-Fri 9:00-17:00",
    "Back in 5 min", "Out of office until 3/15", "Gone fishin'", "Nothin' but net", "Livin' la vida loca",
    "Feelin' good", "Rock 'n' roll forever", "Fish 'n' chips", "Pick 'n' mix", "Mac 'n' cheese lover",
    "Tea, Earl Grey, hot", "Less is more", "More or less", "Now or never", "Sooner or later",
    "All or nothing", "Rain or shine", "Black & white", "Salt & pepper", "Bread & butter", "Rock & roll",
    "R&B", "Q&A", "B&B", "M&Ms", "Me & you", "You & I", "Him & her", "50/50", "1/2 price", "3/4 done",
    "Half & half", "100% organic", "0% sugar", "50% off everything", "Up to 70% off", "Save 15%",
    "Only 2% battery", "Top 1%", "110% effort", "Tax included (8.25%)", "APR 3.9%", "Tip: 20%",
    "I <3 coffee", "I <3 my cat", "<3 always", "-> next", "<- back", "=> result", "a -> b -> c",
    "Step 1 --> Step 2", "...", "Loading...", "To be continued...", "Hmm...", "Wait for it...",
    "!!!", "???", "?!", "#blessed", "#1", "#2 pencil", "No. 1", "N° 5", "№ 7", "§ 12", "© 2024",
    "™", "½ marathon", "5km", "10k run", "42", "3.14159", "e = mc²", "2 + 2 = 4", "1 + 1 = 2",
    "x = 5", "y = mx + b", "a² + b² = c²", "10 > 9", "3 < 4", "0 <= n < 10", "-1", "+1", "+44 20 7946 0958",
    "(555) 010-0199", "+1 (212) 555-0147", "+49 30 901820", "+81 3-1234-5678", "+33 1 23 45 67 89",
    "ext. 204", "Extension #12", "Call me @ 5", "Email me @ work", "At home", "@ the office",
    "Temp: -5°C", "72°F and sunny", "Size M/L", "EU 42 / US 9", "6'2\" tall", "5' 4\"", "12\" sub",
    "~ish", "~2 hours", "*nix fan", "***", "* * *", "--", "- - -", "__init__", "snake_case_name",
    "camelCaseName", "kebab-case-name", "SCREAMING_CASE", "dot.separated.name", "path/to/file",
    "folder\\subfolder", "C:\\Program Files", "D:\\Backups\\2024", "~/Documents", "/home/alice",
    "/Users/bob/Desktop", "./run.sh", "Ctrl+Alt+Del", "Cmd+Shift+4", "Alt+F4 (don't)", "F5 to refresh",
    "Press Enter to continue", "[citation needed]", "{placeholder}", "(optional)", "[sic]",
    "TBD", "N/A", "n/a", "-", "none", "None", "nil", "NULL", "null", "undefined", "NaN", "0", "false",
    "true", "yes", "no", "?", "idk", "tbh", "lol", "brb", "ttyl", "OK", "okay", "K", "kthxbye",
]

HOBBY_SENTENCES = [
    "I write SQL all day -- selects, joins, the occasional union.",
    "Yes, I have dropped a production table once. Never again.",
    "I know 50% of SQL and 100% of Excel.",
    "Coffee: 2 shots; sleep: optional.",
    "Fan of 'The Office' and 'Parks and Rec'.",
    "Ask me about my 'famous' lasagna!",
    "Loves hiking... and naps.",
    "Dog mom to Biscuit & Gravy.",
    "Rust, Go && a little Python.",
    "Currently reading 'Designing Data-Intensive Applications'.",
    "Escaping the 9-to-5 one side project at a time :-)",
    "Weekend baker; weekday debugger.",
    "Runner (slow), reader (fast), cook (questionable).",
    "Two kids, one dog, zero free time.",
    "Powered by coffee & curiosity.",
    "I select my words carefully.",
    "Union organizer and amateur historian.",
    "Trying to sleep 8 hours a night (failing).",
    "I collect vinyl -- mostly '70s soul.",
    "Board games > video games. Fight me.",
    "Plant parent of 23; murderer of 4.",
    "Tea > coffee, but only on Sundays.",
    "Learning Japanese (日本語) one kanji at a time.",
    "Apprends le français... lentement.",
    "Ich lerne Deutsch -- langsam, aber sicher.",
    "Aprendiendo español; ¡poco a poco!",
    "Married to my best friend <3",
    "Proud dad of 3 (ages 2, 5 & 9).",
    "My cat's name is 'Mr. Whiskers' -- don't ask.",
    "Former chef, current developer, future retiree.",
    "Climbing V3s and pretending they're V5s.",
    "I still use a flip phone. It's a choice.",
    "Amateur astronomer; professional procrastinator.",
    "I speak English, Español & a little 中文.",
    "Open to work -- DMs open!",
    "Here for the memes & the free t-shirts.",
    "Currently in São Paulo; usually in Lisboa.",
    "I can fix your printer. Probably.",
    "Part-time DJ, full-time dad.",
    "I think in spreadsheets and dream in SQL.",
    "I measure twice and cut once (mostly).",
    "Marathons: 3. Regrets: 0.",
    "Gluten-free, but not carb-free!",
    "Ask me about sourdough -- I dare you.",
    "I'm the one who brings donuts on Fridays.",
    "Still mad about the 'Game of Thrones' finale.",
    "Not a morning person ;-)",
    "Professional overthinker...",
    "Making the web 1% faster every day.",
    "Building things that (mostly) work.",
    "Grew up on a farm; now I farm code.",
    "Data nerd: averages, medians & the occasional outlier.",
    "Fluent in sarcasm and JSON.",
    "Former teacher -> now UX designer.",
    "I break things so you don't have to (QA).",
    "Knitting scarves nobody asked for.",
    "My go-to karaoke song is 'Bohemian Rhapsody'.",
    "Favorite number: 42. Favorite letter: λ.",
    "On a mission to visit all 63 U.S. national parks.",
    "Happily retired after 35 years at the post office.",
    "I bake bread & break builds.",
    "Recovering perfectionist.",
    "Will work for tacos 🌮",
    "Sleep is my superpower.",
    "Terrible at chess; great at losing gracefully.",
    "Semi-pro napper, full-time mom.",
    "Raised in Lagos, living in London.",
    "Always up for a pub quiz.",
    "Photographer -- mostly birds, sometimes people.",
    "I drop everything for a good taco.",
    "Select committee nerd and policy wonk.",
    "Pun enthusiast. Sorry in advance.",
    "I bike to work, rain or shine.",
    "I <3 open source.",
    "Slowly learning to say no.",
    "100% that nerd.",
]
OPENERS = ["Hi!", "Hello!", "Hey there,", "Hi all,", "Hiya!", "Bonjour!", "Hola!", "Ciao!", "Hej!", "Namaste!",
           "Salaam!", "G'day!", "Howdy!", "Yo!", "Greetings!", "Hallo!", "Olá!", "Kia ora!", "Shalom!", "Aloha!"]
CLOSERS = ["", "", "", ":-)", ";-)", ":)", ":D", "^_^", "<3", "🙂", "✌", "Cheers!", "Thanks for stopping by.",
           "Say hi!", "-- Anna", "-- J.", "xoxo", "(he/him)", "(she/her)", "(they/them)", "Opinions my own.",
           "Views are my own.", "Ask me anything.", "DMs open.", "... more soon", "¯\\_(ツ)_/¯", "o/", "\\o/"]
TOPICS = ["databases", "distributed systems", "security", "gardening", "urban planning", "jazz history",
          "machine learning", "accessibility", "open data", "parenting", "cooking", "travel", "typography",
          "climate", "personal finance", "education", "mental health", "cycling", "film", "poetry"]
SLUGS = ["blog", "notes", "posts/2023/10/hello-world", "about", "portfolio", "cv.pdf", "~me", "wiki/Main_Page",
         "p/42", "@me", "u/alice", "en/about-us", "index.html", "docs/v1.2/intro", "articles?id=7",
         "search?q=rust&lang=en", "a?b=c", "page#section-2", "?utm_source=profile&utm_medium=bio",
         "path%20with%20spaces", "café", "2024/01/02/new-year"]
URL_HOSTS = ["example.com", "www.example.com", "example.org", "blog.example.net", "me.example",
             "portfolio.example.io", "example.co.uk", "shop.example.com"]

SUPPORT_GREETINGS = ["Hi,", "Hello,", "Hi team,", "Dear support,", "Hey,", "Good morning,", "Hi there!",
                     "To whom it may concern,", "Hallo,", "Bonjour,", ""]
SUPPORT_ISSUES = [
    "I can't log in since {day}.",
    "It says 'invalid password' but I just reset it.",
    "The page shows 'Error 500' -- can you help?",
    "I clicked 'Delete account' by mistake; please undo!",
    "My name shows as 'O?Brien' instead of O'Brien.",
    "My name shows up as \"D&#39;Angelo\" in emails, should be D'Angelo.",
    "I get 'Too many requests' after 3 tries...",
    "Tried Chrome & Firefox; same result.",
    "Screenshot: https://example.com/screenshots/{n}.png",
    "The link https://example.com/reset?token=abc{n}&user={n2} expired.",
    "Please change my display name to \"{nick}\" -- thanks!",
    "Can you update my email from {email} to a new one?",
    "The 'Select plan' button does nothing.",
    "My account is 100% locked :(",
    "Charged twice -- 2 x $9.99 on {date}.",
    "I selected 'Annual' but was billed monthly.",
    "Unsubscribe me from the 'weekly digest' please.",
    "The app crashes when I tap 'Update profile'.",
    "Password reset email never arrived (checked spam).",
    "2FA code doesn't work; my phone's clock is right.",
    "I moved from {city} to {city2}; please update my address.",
    "The union dues line on my invoice looks wrong.",
    "Can't upload my photo -- it's a 2 MB .jpg.",
    "The form says my name has \"invalid characters\" (it's {name}).",
    "Order #{n} hasn't shipped yet.",
    "Ticket #{n}: still waiting on a reply.",
    "My username was changed without my consent?!",
    "The dark mode toggle resets after logout.",
    "I see a blank page after login (Safari 17, macOS).",
    "Error code E-{n} when saving my profile.",
    "Could you delete my old address from the account?",
    "Is there a way to export my data (CSV or JSON)?",
    "I want to drop the premium add-on at renewal.",
    "Why does it say my session expired after 5 minutes?",
    "Login works on Wi-Fi but not on 4G/5G.",
    "It won't accept my name with an apostrophe ({name}).",
    "The accent in my name ({name}) shows as garbage characters.",
    "Not urgent -- whenever you get a chance.",
    "Urgent!!! Payroll runs tomorrow.",
]
SUPPORT_SIGNOFFS = ["Thanks, {first}", "Thank you! -- {first}", "Best, {first}", "Regards, {full}", "Cheers, {first}",
                    "-- {first}", "Thx", "Merci, {first}", "Gracias, {first}", "Danke, {first}", "{first} :)",
                    "Sent from my phone", "Kind regards, {full}", ""]
DAYS = ["Monday", "Tuesday", "yesterday", "this morning", "last week", "the update", "3/14", "14.03.",
        "2024-03-14", "March 14th", "Friday night", "the weekend"]
DATES = ["3/14", "14/03/2024", "2024-03-14", "March 3rd", "Jan. 5", "12.01.2024", "the 1st", "5/6"]


def full_latin_name(rng):
    firsts, lasts = CULTURES[rng.choice(list(CULTURES))]
    return rng.choice(firsts), rng.choice(lasts)


def email(rng):
    while True:
        first, last = full_latin_name(rng)
        f, l = ascii_fold(first), ascii_fold(last)
        if f and l:
            break
    f = f.lower().replace(" ", "")
    l = l.lower().replace(" ", "")
    if rng.random() < 0.7:
        # most people drop the apostrophe; some keep it (it is a valid local-part character)
        f, l = f.replace("'", ""), l.replace("'", "")
    n = rng.choice(["", "", "", str(rng.randint(1, 99)), str(rng.randint(1970, 2010))])
    tag = rng.choice(INTERESTS).lower().replace(" ", "").replace("-", "")
    local = rng.choice([
        f"{f}.{l}", f"{f}{l}", f"{f[0]}.{l}", f"{f[0]}{l}{n}", f"{f}_{l}", f"{f}-{l}", f"{l}.{f}",
        f"{f}{n}", f"{f}+{tag}", f"{f}.{l}+{tag}", f"{l}{f[0]}", f"{f}.{l[0]}", f"{f}{l}{n}",
    ])
    local = local.replace("..", ".").strip(".")
    domain = rng.choice(EMAIL_DOMAINS)
    if rng.random() < 0.05:
        return f"{local.capitalize()}@{domain.upper() if rng.random() < 0.5 else domain}"
    return f"{local}@{domain}"


def job_title(rng):
    if rng.random() < 0.35:
        t = rng.choice(PLAIN_JOBS)
    else:
        s = rng.choice(SENIORITY)
        t = " ".join(x for x in [s, rng.choice(FIELDS), rng.choice(ROLES)] if x)
    roll = rng.random()
    if roll < 0.15:
        t += f" ({rng.choice(REGIONS)})"
    elif roll < 0.27:
        t += f" @ {company(rng)}"
    elif roll < 0.35:
        t += f", {rng.choice(FIELDS)}"
    elif roll < 0.42:
        t += f" / {rng.choice(['Co-founder', 'Team Lead', 'Mentor', 'Volunteer', 'Board Member', 'Dad', 'Mom'])}"
    elif roll < 0.48:
        t += f" & {rng.choice(ROLES)}"
    elif roll < 0.53:
        t = t.lower()
    elif roll < 0.57:
        t += f" -- {rng.choice(['hiring!', 'open to work', 'retired', 'on leave', 'ex-' + rng.choice(COMPANY_WORDS)])}"
    return t


def company(rng):
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(NAMED_COMPANIES)
    if roll < 0.25:
        first, last = full_latin_name(rng)
        return rng.choice([f"{last} & {rng.choice(['Sons', 'Daughters', 'Co.', 'Partners', 'Associates'])}",
                           f"{first}'s {rng.choice(COMPANY_KINDS)}", f"{last} {rng.choice(COMPANY_KINDS)}",
                           f"{last}, {full_latin_name(rng)[1]} & {full_latin_name(rng)[1]} LLP"])
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
    form = rng.choice(LEGAL_FORMS)
    if form:
        name += rng.choice([" ", ", "]) + form
    return name


def address(rng):
    roll = rng.random()
    if roll < 0.25:
        return rng.choice(OTHER_ADDRESSES) + rng.choice(["", "", f", {rng.choice(CITIES)}",
                                                         f", {rng.choice(CITIES)}, {rng.choice(COUNTRIES)}"])
    street = f"{rng.randint(1, 9999)}{rng.choice(['', '', '', 'A', 'B', '½', '-1'])} {rng.choice(STREET_NAMES)} {rng.choice(STREET_TYPES)}"
    parts = [street]
    if rng.random() < 0.4:
        parts.append(rng.choice(UNITS))
    r = rng.random()
    if r < 0.5:
        city, state = rng.choice(US_CITIES)
        parts.append(f"{city}, {state} {rng.randint(10000, 99999)}")
    elif r < 0.75:
        parts.append(rng.choice(CITIES))
        parts.append(rng.choice(COUNTRIES))
    elif r < 0.85:
        parts.append(f"{rng.choice(CITIES)} {rng.choice(['SW1A 2AA', 'EC1A 1BB', 'M1 1AE', 'D02 X285', 'H2X 1Y4', 'V6B 1A1', '2000', '1010', '75008', '10115'])}")
    return ", ".join(parts) if rng.random() < 0.9 else " / ".join(parts)


def url(rng):
    return f"https://{rng.choice(URL_HOSTS)}/{rng.choice(SLUGS)}"


def bio(rng):
    first, last = full_latin_name(rng)
    h1, h2 = rng.sample(HOBBY_SENTENCES, 2)
    templates = [
        "{op} I'm {first}, a {job} based in {city}. {h1}",
        "{job} at {co}. {h1} {cl}",
        "{h1} {h2}",
        "Born in {city}, living in {city2}. {h1}",
        "Ex-{co}. Now {job}. {cl}",
        "{job} | {i1} | {i2} | {city}",
        "Writing about {topic} at {url}",
        "{op} {h1} More at {url}",
        "{job}. {h1} {cl}",
        "{first} -- {job}, {i1} & {i2}.",
        "I'm into {i1}, {i2} and {topic}. {cl}",
        "{h1} Based in {city}, originally from {country}.",
        "{job} by day, {i1} by night. {h2}",
        "{op} {job} with {years} years of experience in {topic}. {cl}",
        "\"{quote}\" {dash} {author}",
        "'{quote}' {dash} {author}. {h1}",
        "“{quote}” {dash} {author}",
        "{quote} ({author})",
    ]
    quote, author = rng.choice(QUOTES)
    s = rng.choice(templates).format(
        op=rng.choice(OPENERS), first=first, job=job_title(rng).lower() if rng.random() < 0.5 else job_title(rng),
        city=rng.choice(CITIES), city2=rng.choice(CITIES), h1=h1, h2=h2, cl=rng.choice(CLOSERS), co=company(rng),
        i1=rng.choice(INTERESTS), i2=rng.choice(INTERESTS), topic=rng.choice(TOPICS), url=url(rng),
        country=rng.choice(COUNTRIES), years=rng.randint(2, 30), quote=quote, author=author,
        dash=rng.choice(["--", "—", "–", "-", "~"]))
    s = re.sub(r"(?<=[A-Za-z])\.\.(?=\s|$)", ".", s)  # "Co., Ltd." + ". " -> one period
    return " ".join(s.split())


QUOTES = [
    ("Stay hungry, stay foolish.", "Steve Jobs"),
    ("Be yourself; everyone else is already taken.", "Oscar Wilde"),
    ("The only way out is through.", "Robert Frost"),
    ("Simplicity is prerequisite for reliability.", "Edsger W. Dijkstra"),
    ("Talk is cheap. Show me the code.", "Linus Torvalds"),
    ("Not all those who wander are lost.", "J.R.R. Tolkien"),
    ("Premature optimization is the root of all evil.", "Donald Knuth"),
    ("I think, therefore I am.", "René Descartes"),
    ("To be or not to be, that is the question.", "Shakespeare"),
    ("Carpe diem.", "Horace"),
    ("Done is better than perfect.", "Sheryl Sandberg"),
    ("Whether you think you can or you think you can't, you're right.", "Henry Ford"),
    ("It always seems impossible until it's done.", "Nelson Mandela"),
    ("The unexamined life is not worth living.", "Socrates"),
    ("Hope is the thing with feathers.", "Emily Dickinson"),
    ("Don't panic.", "Douglas Adams"),
    ("There are only two hard things in computer science: cache invalidation and naming things.",
     "Phil Karlton"),
    ("In the middle of difficulty lies opportunity.", "Albert Einstein"),
    ("Que será, será.", "Doris Day"),
    ("Veni, vidi, vici.", "Julius Caesar"),
    ("Ubuntu: I am because we are.", "proverb"),
    ("Keep calm and carry on.", "WWII poster"),
    ("Fall seven times, stand up eight.", "Japanese proverb"),
    ("Measure twice, cut once.", "my grandpa"),
    ("One day or day one. You decide.", "unknown"),
]


def support_note(rng):
    first, last = full_latin_name(rng)
    issues = rng.sample(SUPPORT_ISSUES, rng.choice([1, 1, 2]))
    fields = dict(day=rng.choice(DAYS), n=rng.randint(100, 99999), n2=rng.randint(1, 9999),
                  nick=rng.choice(NICKNAMES), email=email(rng), date=rng.choice(DATES), city=rng.choice(CITIES),
                  city2=rng.choice(CITIES), name=f"{first} {last}", first=first, full=f"{first} {last}")
    body = " ".join(i.format(**fields) for i in issues)
    s = " ".join(x for x in [rng.choice(SUPPORT_GREETINGS), body, rng.choice(SUPPORT_SIGNOFFS).format(**fields)] if x)
    return " ".join(s.split())


def phrase_variant(rng):
    p = rng.choice(PHRASES)
    roll = rng.random()
    if roll < 0.2:
        return p.upper() if len(p) > 3 else p
    if roll < 0.4:
        return p.lower()
    if roll < 0.55:
        return f"{p} {rng.choice(EMOJI)}"
    if roll < 0.7:
        return f"{p}!"
    if roll < 0.8:
        return f"\"{p}\""
    if roll < 0.9:
        return f"'{p}'"
    return f"{p} ({rng.choice(['again', 'lol', 'no really', 'pls', 'soon', 'TBD', 'v2', 'draft'])})"


# --- Assembly ---------------------------------------------------------------------------------------------------------

TAG_LIKE = re.compile(r"<(/?[A-Za-z]|!|\?)")
MAX_LEN = 200


def acceptable(line):
    if not line or line != line.strip() or len(line) > MAX_LEN:
        return False
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for c in line):
        return False
    return TAG_LIKE.search(line) is None


def main():
    rng = random.Random(SEED)
    out = {}

    def add(line, source):
        if not acceptable(line):
            raise SystemExit(f"{source}: unacceptable line {line!r}")
        out.setdefault(line, None)

    for line in HANDWRITTEN:
        add(line, "handwritten")
    if len(out) != len(HANDWRITTEN):
        raise SystemExit("duplicate hand-written line")
    for line in PHRASES + FUN_DISPLAY + NAMED_COMPANIES + HOBBY_SENTENCES + OTHER_ADDRESSES + PLAIN_JOBS:
        add(line, "lists")

    # (generator, how many distinct lines it contributes)
    plan = [
        (person_name, 1200), (native_name, 220), (mixed_name, 80), (handle, 350), (email, 350),
        (job_title, 280), (company, 260), (address, 330), (phrase_variant, 150), (url, 60), (bio, 420),
        (support_note, 240),
    ]
    for gen, count in plan:
        made, attempts = 0, 0
        while made < count:
            attempts += 1
            if attempts > count * 50:
                raise SystemExit(f"{gen.__name__}: only {made} distinct lines after {attempts} attempts")
            line = gen(rng)
            if line in out or len(line) > MAX_LEN:
                continue
            add(line, gen.__name__)
            made += 1

    OUT.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} lines to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
